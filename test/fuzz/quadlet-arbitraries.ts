// Generators of hostile Quadlet cases for the fuzz tests: random bytes and text, huge lines around the
// 64 KiB limit, endless continuations, odd encodings (invalid UTF-8, UTF-16 with BOM, NULs, lone
// surrogates), `%` specifiers, random sections and keys, many repeated keys and drop-ins, CR/LF mixes,
// and mutations of valid units. A case is a small set of files in one directory: the bound unit, maybe
// a `.image` it names, maybe drop-ins.
import fc from 'fast-check';

/** File content: text (written as UTF-8; lone surrogates become U+FFFD on disk) or raw bytes. */
export type Content = string | Uint8Array;

export interface QuadletCase {
  /** Which generator made it, for the tally. */
  family: string;
  /** File name of the bound unit (a key of `files`). */
  unit: string;
  /** Names relative to the case's directory (`web.container`, `web.container.d/10.conf`) → content. */
  files: Record<string, Content>;
}

const LIMIT = 64 * 1024;
const SECTIONS = ['Image', 'Container', 'Unit', 'Service', 'Install', 'X-Extra', 'image', 'Volume'];
const KEYS = ['Image', 'AuthFile', 'Arch', 'OS', 'Variant', 'ContainerName', 'Exec', 'image', 'Image '];
const DIGEST = `sha256:${'a'.repeat(64)}`;
const REFERENCES = [
  'nginx',
  'docker.io/library/nginx:1.27',
  'quay.io/org/app:v1',
  `localhost:5000/a/b@${DIGEST}`,
  `127.0.0.1:5000/x:tag@${DIGEST}`,
  '[::1]:5000/app',
  'Nginx',
  'a'.repeat(300),
  'https://quay.io/x',
  'x@@y',
  'x:',
  '"quoted.io/app"',
  "'single.io/app'",
  'web.image',
  'other.image',
  'x.build',
  '../up.image',
  '/abs/x.image',
  '.image',
  '',
];
const SPECIFIERS = ['%', '%%', '%n', '%i', '%%%', '%%%%', '%H', '%{x}', '%\\', '%"'];
const EOLS = ['\n', '\r\n', '\r', '\n\r'];

/** Characters that matter to the unit-file grammar, plus odd code points. */
const HOSTILE_CHARS = [
  '[',
  ']',
  '=',
  '%',
  '\\',
  '#',
  ';',
  '"',
  "'",
  ' ',
  '\t',
  '\n',
  '\r',
  '\0',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '\uFFFE',
  '\u2028',
  '\u00A0',
  'é',
  '😀',
  '\x7F',
  '\x1B',
];
const hostileChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_CHARS) },
  { weight: 3, arbitrary: fc.constantFrom(...'abcxyzABCXYZ0129./:@-_') },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
);
const hostileText = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: hostileChar, maxLength });
const unitName = fc.constantFrom('web.image', 'web.container', 'web.container', 'web.image', 'web.volume');

const value = fc.oneof(
  fc.constantFrom(...REFERENCES),
  fc
    .tuple(fc.constantFrom(...REFERENCES), fc.constantFrom(...SPECIFIERS), fc.constantFrom(...REFERENCES))
    .map(([a, s, b]) => a + s + b),
  hostileText(40),
);

const sectionLine = fc.oneof(
  fc.constantFrom(...SECTIONS).map((s) => `[${s}]`),
  hostileText(12).map((s) => `[${s}]`),
  fc.constantFrom('[', '[]', '[Image', 'Image]', ' [Image] ', '[Image]x', '[[Image]]'),
);
const assignment = fc
  .tuple(fc.oneof(fc.constantFrom(...KEYS), hostileText(8)), fc.constantFrom('=', ' = ', '=\t', '=='), value)
  .map(([k, eq, v]) => k + eq + v);
const line = fc.oneof(
  { weight: 2, arbitrary: sectionLine },
  { weight: 5, arbitrary: assignment },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '# comment \\', '; note', '   # x', '\\', '\\\\') },
  { weight: 1, arbitrary: assignment.map((a) => `${a} \\`) },
  { weight: 1, arbitrary: hostileText(30) },
);

/** Lines joined with a line ending chosen per line; maybe a BOM, maybe no final newline. */
function joinLines(lines: string[], eols: string[], bom: boolean, finalEol: boolean): string {
  const body = lines.map(
    (l, i) => l + (i < lines.length - 1 || finalEol ? (eols[i % eols.length] ?? '\n') : ''),
  );
  return (bom ? '\uFEFF' : '') + body.join('');
}
const lineEndings = fc.array(fc.constantFrom(...EOLS), { minLength: 1, maxLength: 4 });
const structuredText = fc
  .tuple(fc.array(line, { maxLength: 40 }), lineEndings, fc.boolean(), fc.boolean())
  .map(([lines, eols, bom, finalEol]) => joinLines(lines, eols, bom, finalEol));

/** A valid pair: web.container → web.image, and a drop-in; the base the mutations start from. */
function validFiles(reference: string): Record<string, string> {
  return {
    'web.container': '# bound\n[Unit]\nDescription=web\n\n[Container]\nImage=web.image\nExec=sleep 1\n',
    'web.image': `[Image]\nImage=${reference}\nArch=amd64\n`,
    'web.image.d/10-override.conf': '[Image]\nOS=linux\n',
  };
}
const validReference = fc.constantFrom(...REFERENCES.slice(0, 6));

function one(family: string, unit: string, text: Content, extra: Record<string, Content> = {}): QuadletCase {
  return { family, unit, files: { ...extra, [unit]: text } };
}

const randomBytes = fc
  .tuple(unitName, fc.uint8Array({ maxLength: 4096 }))
  .map(([unit, bytes]) => one('random-bytes', unit, bytes));

const randomText = fc
  .tuple(unitName, fc.oneof(hostileText(2000), fc.string({ unit: 'binary', maxLength: 500 })))
  .map(([unit, text]) => one('random-text', unit, text));

const structured = fc
  .tuple(
    unitName,
    structuredText,
    fc.option(structuredText, { nil: undefined }),
    fc.array(structuredText, { maxLength: 3 }),
  )
  .map(([unit, text, sibling, dropIns]) => {
    const extra: Record<string, Content> = {};
    if (sibling !== undefined) extra['web.image'] = sibling;
    dropIns.forEach((d, i) => (extra[`${unit}.d/${i}.conf`] = d));
    return one('structured', unit, text, extra);
  });

/** One line of about 64 KiB (under, at, just over, far over the limit), with prefix and suffix. */
const hugeLine = fc
  .tuple(
    unitName,
    fc.constantFrom(
      '[Image]\nImage=',
      '[Image]\nImage=x',
      '[Container]\nImage=',
      '',
      '# ',
      '[',
      '[Image]\n',
      'Image=',
    ),
    fc.constantFrom(' ', '\t', 'a', '\\', '%', '=', ' \\', '%%', 'é', '😀', ' a', ' \t', '\\\\', '['),
    fc.oneof(
      fc.constantFrom(LIMIT - 64, LIMIT - 1, LIMIT, LIMIT + 1, 2 * LIMIT),
      fc.integer({ min: LIMIT - 2048, max: LIMIT + 2048 }),
      fc.integer({ min: 1, max: 8192 }),
    ),
    fc.constantFrom('', 'y', '\n', '\\', ']', 'y\n[Image]\nImage=nginx\n'),
  )
  .map(([unit, prefix, filler, bytes, suffix]) => {
    const fillerBytes = Buffer.byteLength(filler);
    const room = Math.max(0, bytes - Buffer.byteLength(prefix) - Buffer.byteLength(suffix));
    return one('huge-line', unit, prefix + filler.repeat(Math.ceil(room / fillerBytes)) + suffix);
  });

/**
 * Backslash-continued lines, from a few to a file's worth (up to about the 64 KiB limit: 32,000 lines of
 * a lone "\\"), maybe never ended.
 */
const continuations = fc
  .tuple(
    unitName,
    fc.array(fc.constantFrom('', ' ', 'a', 'b c', '\\\\', '# c', '; c', '[x]', '%', '\t'), {
      minLength: 1,
      maxLength: 5,
    }),
    // A file's worth of continuations costs the parser ~150 ms today (see docs/reliability.md): keep those rare.
    fc.oneof(
      { weight: 19, arbitrary: fc.integer({ min: 1, max: 2_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: LIMIT - 4_096, max: LIMIT + 1_024 }) },
    ),
    fc.constantFrom(...EOLS),
    fc.constantFrom('', 'nginx', 'nginx\n', '\\'),
  )
  .map(([unit, segments, bytes, eol, end]) => {
    const parts: string[] = [];
    for (let size = 0, i = 0; size < bytes; i++) {
      const part = `${segments[i % segments.length] ?? ''}\\${eol}`;
      parts.push(part);
      size += part.length;
    }
    const section = unit.endsWith('.container') ? 'Container' : 'Image';
    return one('continuations', unit, `[${section}]${eol}Image=${parts.join('')}${end}`);
  });

const ENCODINGS = ['utf16le-bom', 'utf16be-bom', 'utf16le', 'utf8-bom', 'utf8-bom-twice', 'latin1'] as const;
function encode(text: string, how: (typeof ENCODINGS)[number]): Uint8Array {
  switch (how) {
    case 'utf16le-bom':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf16be-bom':
      return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    case 'utf16le':
      return Buffer.from(text, 'utf16le');
    case 'utf8-bom':
      return Buffer.from(`\uFEFF${text}`, 'utf8');
    case 'utf8-bom-twice':
      return Buffer.from(`\uFEFF\uFEFF${text}`, 'utf8');
    case 'latin1':
      return Buffer.from(`${text}# caf\u00e9\n`, 'latin1');
  }
}
const INVALID_UTF8 = [
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xff],
  [0xe2, 0x82],
  [0x00],
  [0xfe],
];
const encodings = fc.oneof(
  fc
    .tuple(unitName, validReference, fc.constantFrom(...ENCODINGS))
    .map(([unit, ref, how]) =>
      one(`encoding-${how}`, unit, encode(validFiles(ref)[unit] ?? `[Image]\nImage=${ref}\n`, how)),
    ),
  fc
    .tuple(unitName, validReference, fc.constantFrom(...INVALID_UTF8), fc.nat())
    .map(([unit, ref, bad, at]) => {
      const text = Buffer.from(`[Image]\nImage=${ref}\n[Container]\nImage=${ref}\n`, 'utf8');
      const cut = at % (text.length + 1);
      return one(
        'encoding-invalid-utf8',
        unit,
        Buffer.concat([text.subarray(0, cut), Buffer.from(bad), text.subarray(cut)]),
      );
    }),
  fc
    .tuple(
      unitName,
      validReference,
      fc.constantFrom('\uD800', '\uDC00', '\uDBFF\uDBFF', '\0', '\uFFFF'),
      fc.nat(),
    )
    .map(([unit, ref, odd, at]) => {
      const text = `[Image]\nImage=${ref}\n[Container]\nImage=${ref}\n`;
      const cut = at % (text.length + 1);
      return one('encoding-odd-code-points', unit, text.slice(0, cut) + odd + text.slice(cut));
    }),
);

const specifiers = fc
  .tuple(
    unitName,
    fc.constantFrom('Image', 'AuthFile', 'Arch', 'OS', 'Variant'),
    fc.array(fc.oneof(fc.constantFrom(...SPECIFIERS), fc.constantFrom('nginx', 'a', '/', ':')), {
      maxLength: 6,
    }),
  )
  .map(([unit, key, parts]) => {
    const v = parts.join('');
    const section = unit.endsWith('.container') ? 'Container' : 'Image';
    return one('specifiers', unit, `[${section}]\nImage=nginx\n${key}=${v}\n`, {
      'web.image': `[Image]\nImage=nginx\n${key}=${v}\n`,
    });
  });

/** The same key many times, many sections, many drop-ins. */
const repeated = fc
  .tuple(unitName, fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 40 }), validReference)
  .map(([unit, times, dropIns, ref]) => {
    const section = unit.endsWith('.container') ? 'Container' : 'Image';
    const lines: string[] = [];
    for (let i = 0; i < times; i++)
      lines.push(i % 97 === 0 ? `[${section}]` : `Image=${i % 2 === 0 ? ref : 'web.image'}`);
    const extra: Record<string, Content> = {
      'web.image': `[Image]\nImage=${ref}\n`.repeat(Math.min(times, 500)),
    };
    for (let i = 0; i < dropIns; i++)
      extra[`${unit}.d/${String(i).padStart(3, '0')}.conf`] = `[${section}]\nImage=${ref}\n`;
    return one('repeated', unit, `[${section}]\n${lines.join('\n')}\n`, extra);
  });

const EDIT_CHARS = ['\\', '\n', '\r', '=', '[', ']', '%', '"', '#', '\0', ' ', '\uFEFF', '\uD800'];
/** A valid set of files with a few random edits in one of them. */
const mutated = fc
  .tuple(
    validReference,
    fc.constantFrom('web.container', 'web.image', 'web.image.d/10-override.conf'),
    fc.array(
      fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'duplicate'), fc.constantFrom(...EDIT_CHARS)),
      {
        minLength: 1,
        maxLength: 6,
      },
    ),
    fc.constantFrom('web.container', 'web.image'),
  )
  .map(([ref, target, edits, unit]) => {
    const files: Record<string, Content> = validFiles(ref);
    let text = files[target] as string;
    for (const [at, op, ch] of edits) {
      const i = at % (text.length + 1);
      if (op === 'insert') text = text.slice(0, i) + ch + text.slice(i);
      else if (op === 'delete') text = text.slice(0, i) + text.slice(i + 1);
      else text = text.slice(0, i) + text.slice(i, i + 20).repeat(3) + text.slice(i + 20);
    }
    files[target] = text;
    return { family: 'mutated-valid', unit, files };
  });

/** A `.container` naming every odd kind of `.image` (missing, hostile, through drop-ins). */
const containerRefs = fc
  .tuple(
    fc.constantFrom(
      'web.image',
      'missing.image',
      'x.build',
      '../up.image',
      '/abs/x.image',
      '.image',
      '"web.image"',
      'web.image ',
      'WEB.IMAGE',
      '%%web.image',
    ),
    fc.option(fc.oneof(structuredText, hostileText(200)), { nil: undefined }),
    fc.boolean(),
  )
  .map(([ref, imageText, viaDropIn]) => {
    const files: Record<string, Content> = {
      'web.container': viaDropIn ? '[Container]\nImage=nginx\n' : `[Container]\nImage=${ref}\n`,
    };
    if (viaDropIn) files['web.container.d/50.conf'] = `[Container]\nImage=${ref}\n`;
    if (imageText !== undefined) files['web.image'] = imageText;
    return { family: 'container-refs', unit: 'web.container', files };
  });

/** Every family, weighted so that the costly ones (huge lines, long continuations) stay a minority. */
export const quadletCase: fc.Arbitrary<QuadletCase> = fc.oneof(
  { weight: 3, arbitrary: randomBytes },
  { weight: 3, arbitrary: randomText },
  { weight: 6, arbitrary: structured },
  { weight: 1, arbitrary: hugeLine },
  { weight: 1, arbitrary: continuations },
  { weight: 2, arbitrary: encodings },
  { weight: 2, arbitrary: specifiers },
  { weight: 1, arbitrary: repeated },
  { weight: 3, arbitrary: mutated },
  { weight: 2, arbitrary: containerRefs },
);

/** Bytes as they land on disk. */
export function toBytes(content: Content): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

const lossyUtf8 = new TextDecoder('utf-8');
/** Text as handed to the parser directly: strings as generated, bytes decoded leniently. */
export function toText(content: Content): string {
  return typeof content === 'string' ? content : lossyUtf8.decode(content);
}
