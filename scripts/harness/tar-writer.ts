// A minimal ustar writer for test image layers: directories, regular files and symlinks with short
// (< 100 byte) relative paths, owned by root, with a fixed mtime so equal content gives equal digests.
export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

/** 2024-01-01T00:00:00Z: fixed, so layers are reproducible. */
export const TAR_MTIME = 1_704_067_200;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(path: string, typeflag: string, size: number, mode: number, linkname = ''): Buffer {
  if (Buffer.byteLength(path) > 99 || Buffer.byteLength(linkname) > 99) {
    throw new Error(`tar-writer: path too long: ${path}`);
  }
  const h = Buffer.alloc(512);
  h.write(path, 0);
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(TAR_MTIME, 12), 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  h.write(linkname, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write('root', 265);
  h.write('root', 297);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function pad(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** The archive's records for `entries`, without the end-of-archive marker. */
export function tarEntries(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === 'dir') {
      parts.push(header(e.path.endsWith('/') ? e.path : `${e.path}/`, '5', 0, e.mode ?? 0o755));
    } else if (e.type === 'symlink') {
      parts.push(header(e.path, '2', 0, 0o777, e.target));
    } else {
      const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
      parts.push(header(e.path, '0', data.length, e.mode ?? 0o644), data, pad(data.length));
    }
  }
  return Buffer.concat(parts);
}

/** Two zero records: the end of a tar archive. */
export const TAR_END = Buffer.alloc(1024);

/** A complete archive. */
export function tarArchive(entries: TarEntry[]): Buffer {
  return Buffer.concat([tarEntries(entries), TAR_END]);
}
