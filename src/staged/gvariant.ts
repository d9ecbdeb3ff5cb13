// The subset of GLib's GVariant serialization format that ostree's staged-deployment marker uses
// (`/run/ostree/staged-deployment` is one `a{sv}` written with g_variant_get_data()): dictionaries of
// variants holding strings, booleans, string arrays, 32-bit integers and nested dictionaries. Reading
// follows the format's framing rules (alignment, little-endian framing offsets sized by the container,
// a variant's value followed by a zero byte and its type string); a value of another type is kept as
// `{ type, bytes }`. Every error says at which byte offset the data stopped making sense.
// encodeVardict() writes the same subset; tests use it to build markers (and check it against a file
// ostree wrote).

export type GValue = string | boolean | number | string[] | GDict | RawValue;
export interface GDict {
  [key: string]: GValue;
}

/** A value of a type this reader does not decode: its type string and serialized bytes. */
export interface RawValue {
  type: string;
  bytes: Uint8Array;
}

function isRaw(v: GValue): v is RawValue {
  return (
    typeof v === 'object' && !Array.isArray(v) && v.bytes instanceof Uint8Array && typeof v.type === 'string'
  );
}

export class GVariantError extends Error {
  override name = 'GVariantError';
}

/** Bytes per framing offset in a container of `size` bytes. */
function offsetSize(size: number): number {
  if (size === 0) return 0;
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  return 4;
}

function align(n: number, to: number): number {
  return (n + to - 1) & ~(to - 1);
}

/** A view of `bytes[start, end)` plus where it sits in the whole file (for error messages). */
interface Span {
  bytes: Uint8Array;
  start: number;
  end: number;
}

const size = (s: Span): number => s.end - s.start;
const sub = (s: Span, from: number, to: number): Span => {
  if (from < 0 || to > size(s) || from > to) {
    throw new GVariantError(`byte ${s.start + from}: a framing offset points outside its container`);
  }
  return { bytes: s.bytes, start: s.start + from, end: s.start + to };
};

function readOffset(s: Span, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + (s.bytes[s.start + at + i] ?? 0);
  return v;
}

/** The elements of an array whose elements have no fixed size (each framed by an end offset). */
function variableElements(s: Span, elementAlign: number): Span[] {
  const n = size(s);
  if (n === 0) return [];
  const width = offsetSize(n);
  const offsetsStart = readOffset(s, n - width, width);
  if (offsetsStart > n - width || (n - offsetsStart) % width !== 0) {
    throw new GVariantError(`byte ${s.start + n - width}: bad array framing offset ${offsetsStart}`);
  }
  const out: Span[] = [];
  let from = 0;
  for (let at = offsetsStart; at < n; at += width) {
    const end = readOffset(s, at, width);
    out.push(sub(s, align(from, elementAlign), end));
    from = end;
  }
  return out;
}

function readString(s: Span): string {
  if (size(s) === 0 || s.bytes[s.end - 1] !== 0) {
    throw new GVariantError(`byte ${s.start}: a string is not terminated by a zero byte`);
  }
  const text = Buffer.from(s.bytes.subarray(s.start, s.end - 1)).toString('utf8');
  if (text.includes('\0')) throw new GVariantError(`byte ${s.start}: a string holds a zero byte`);
  return text;
}

function readVariant(s: Span): GValue {
  let sep = s.end - 1;
  while (sep >= s.start && s.bytes[sep] !== 0) sep--;
  if (sep < s.start) throw new GVariantError(`byte ${s.start}: a variant has no type string`);
  const type = Buffer.from(s.bytes.subarray(sep + 1, s.end)).toString('latin1');
  return readValue({ bytes: s.bytes, start: s.start, end: sep }, type);
}

function readValue(s: Span, type: string): GValue {
  switch (type) {
    case 's':
    case 'o':
    case 'g':
      return readString(s);
    case 'b':
      if (size(s) !== 1) throw new GVariantError(`byte ${s.start}: a boolean must be 1 byte`);
      return s.bytes[s.start] !== 0;
    case 'i':
    case 'u': {
      if (size(s) !== 4) throw new GVariantError(`byte ${s.start}: a 32-bit integer must be 4 bytes`);
      const view = new DataView(s.bytes.buffer, s.bytes.byteOffset + s.start, 4);
      return type === 'i' ? view.getInt32(0, true) : view.getUint32(0, true);
    }
    case 'as':
      return variableElements(s, 1).map(readString);
    case 'a{sv}':
      return readDict(s);
    default:
      return { type, bytes: s.bytes.slice(s.start, s.end) };
  }
}

function readDict(s: Span): GDict {
  const dict: GDict = {};
  for (const entry of variableElements(s, 8)) {
    const n = size(entry);
    const width = offsetSize(n);
    if (n < width + 1) throw new GVariantError(`byte ${entry.start}: a dictionary entry is too short`);
    const keyEnd = readOffset(entry, n - width, width);
    const key = readString(sub(entry, 0, keyEnd));
    dict[key] = readVariant(sub(entry, align(keyEnd, 8), n - width));
  }
  return dict;
}

/** Parses a serialized `a{sv}` (as g_variant_get_data() wrote it). Throws GVariantError. */
export function parseVardict(data: Uint8Array): GDict {
  return readDict({ bytes: data, start: 0, end: data.length });
}

// ---- writing (the same subset) ----

/** Appends framing offsets to `body` (their width chosen so that the whole fits). */
function frame(body: number[], offsets: number[]): number[] {
  if (offsets.length === 0) return body;
  for (const width of [1, 2, 4]) {
    const total = body.length + offsets.length * width;
    if (offsetSize(total) !== width) continue;
    const out = [...body];
    for (const o of offsets) for (let i = 0; i < width; i++) out.push(Math.floor(o / 256 ** i) & 0xff);
    return out;
  }
  throw new GVariantError('value too large to encode');
}

function pad(out: number[], to: number): void {
  while (out.length % to !== 0) out.push(0);
}

function typeOf(v: GValue): string {
  if (typeof v === 'string') return 's';
  if (typeof v === 'boolean') return 'b';
  if (typeof v === 'number') return 'i';
  if (Array.isArray(v)) return 'as';
  return isRaw(v) ? v.type : 'a{sv}';
}

function encodeValue(v: GValue): number[] {
  if (typeof v === 'string') return [...Buffer.from(v, 'utf8'), 0];
  if (typeof v === 'boolean') return [v ? 1 : 0];
  if (typeof v === 'number') {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return [...b];
  }
  if (Array.isArray(v)) {
    const body: number[] = [];
    const ends: number[] = [];
    for (const s of v) {
      body.push(...Buffer.from(s, 'utf8'), 0);
      ends.push(body.length);
    }
    return frame(body, ends);
  }
  return isRaw(v) ? [...v.bytes] : encodeDict(v);
}

function encodeDict(dict: GDict): number[] {
  const body: number[] = [];
  const ends: number[] = [];
  for (const [key, value] of Object.entries(dict)) {
    pad(body, 8);
    const entry: number[] = [...Buffer.from(key, 'utf8'), 0];
    const keyEnd = entry.length;
    pad(entry, 8);
    entry.push(...encodeValue(value), 0, ...Buffer.from(typeOf(value), 'latin1'));
    body.push(...frame(entry, [keyEnd]));
    ends.push(body.length);
  }
  return frame(body, ends);
}

/** Serializes a dictionary as `a{sv}` (strings, booleans, `as`, int32 and nested dictionaries). */
export function encodeVardict(dict: GDict): Uint8Array {
  return Uint8Array.from(encodeDict(dict));
}
