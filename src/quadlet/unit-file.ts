// systemd unit-file syntax (systemd.syntax(7), as systemd's config_parse() reads it): physical lines,
// comments, backslash continuation, sections and `Key=Value` assignments, each kept with its line.
// Which lines continue is decided as Quadlet decides it (Podman's pkg/systemd/parser), since Quadlet is
// the program that reads these files and generates the service; the join itself is systemd's.
// Values are returned as written (trimmed); interpreting them is unit-value.ts's job.
//
// Not built on the `ini` package: ini v5 drops line numbers, cuts values at an inline `#`/`;`, turns
// `true`/`false` into booleans, ignores continuation lines, keeps a BOM in the first key, and lets a
// top-level key swallow a section of the same name. See docs/bound-image-files.md.
import { QuadletError } from './quadlet-error.js';
import { clip } from '../clip.js';

/** One `Key=Value` assignment. */
export interface UnitEntry {
  section: string;
  key: string;
  /** The value with surrounding whitespace removed; continuation lines joined as systemd joins them. */
  value: string;
  /** Root-absolute path of the file the assignment is in. */
  file: string;
  /** 1-based line where the assignment starts (its key), even when it continues on later lines. */
  line: number;
}

export interface UnitFile {
  file: string;
  /** Section names in order of first appearance (a repeated section is merged into the first). */
  sections: string[];
  /** Every assignment in file order. */
  entries: UnitEntry[];
}

// systemd's WHITESPACE: space, tab, newline, carriage return.
const LEADING_WHITESPACE = /^[ \t\n\r]+/;
// systemd's string_is_safe(): no control characters, no quotes, no backslash; and no brackets.
// eslint-disable-next-line no-control-regex
const UNSAFE_SECTION_NAME = /[\x00-\x1f\x7f"'\\[\]]/;
const BOM = '\uFEFF';

function isWhitespace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/**
 * systemd's whitespace trim, in linear time: a regex alternation anchored at the end backtracks
 * over every run of spaces, quadratic on a 64 KiB line (found by the fuzz suite). Not String.trim:
 * that also drops \v, \f, NBSP and other Unicode spaces, which systemd keeps.
 */
function strip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWhitespace(text[start])) start++;
  while (end > start && isWhitespace(text[end - 1])) end--;
  return text.slice(start, end);
}

/** True when the line, after leading whitespace, starts a `#` or `;` comment. */
function isComment(physical: string): boolean {
  const first = physical.replace(LEADING_WHITESPACE, '')[0];
  return first === '#' || first === ';';
}

// Go's unicode.IsSpace, which Quadlet's strings.TrimSpace uses: ASCII \t \n \v \f \r and space, NEL,
// NBSP and the other Unicode White_Space characters (not U+FEFF, unlike JavaScript's \s).
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** The line without trailing Go whitespace (linear: no regex anchored at the end). */
function trimEndGo(text: string): string {
  let end = text.length;
  while (end > 0 && GO_SPACE.test(text[end - 1] ?? '')) end--;
  return text.slice(0, end);
}

/**
 * Where a line continues, as Quadlet decides: its text without trailing whitespace ends in a
 * backslash, escaped or not; the result is the text before that backslash, else undefined. systemd
 * continues only an unescaped backslash that is the very last character, but it does not read these
 * files: Quadlet does, and a line it joins is one assignment of the service it generates.
 */
function continuedText(physical: string): string | undefined {
  const text = trimEndGo(physical);
  return text.endsWith('\\') ? text.slice(0, -1) : undefined;
}

/**
 * Parse unit-file text. `file` is only used to name the file in entries and errors.
 * Throws QuadletError for what systemd or Quadlet refuse: a NUL byte, a bad section header, an
 * assignment before the first section, a line that is neither comment, section nor `Key=Value`.
 */
export function parseUnitFile(text: string, file: string): UnitFile {
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = text.slice(0, nul).split(/\r\n|\r|\n/).length;
    throw new QuadletError(file, 'contains a NUL byte: not a text file', line);
  }
  const body = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  const parsed: UnitFile = { file, sections: [], entries: [] };
  let section: string | undefined;
  // The pieces of a continued line so far, joined once at its end (joining as it grows would copy
  // the whole line again for each piece: quadratic in a long run of continuations).
  let pending: { parts: string[]; line: number } | undefined;

  const logical = (raw: string, line: number): void => {
    const content = strip(raw);
    if (content === '') return;
    if (content.startsWith('[')) {
      section = sectionName(content, file, line);
      if (!parsed.sections.includes(section)) parsed.sections.push(section);
      return;
    }
    const eq = content.indexOf('=');
    if (eq < 0) {
      throw new QuadletError(
        file,
        `not a [Section] header, a Key=Value assignment or a comment: "${clip(content)}"`,
        line,
      );
    }
    if (section === undefined) {
      throw new QuadletError(file, `assignment before any [Section] header: "${clip(content)}"`, line);
    }
    const key = strip(content.slice(0, eq));
    if (key === '') throw new QuadletError(file, `missing key name before "=": "${clip(content)}"`, line);
    parsed.entries.push({ section, key, value: strip(content.slice(eq + 1)), file, line });
  };

  const lines = body.split(/\r\n|\r|\n/);
  lines.forEach((physical, index) => {
    const line = index + 1;
    // Comment lines are skipped first (systemd and Quadlet alike), so they are passed over even
    // inside a continuation, and a comment ending in a backslash does not continue.
    if (isComment(physical)) return;
    // Quadlet also passes over an empty line inside a continuation (systemd would end it there).
    if (pending !== undefined && trimEndGo(physical) === '') return;
    // Every piece so far ends in the space that replaced its backslash, so whether the joined line
    // continues depends on this physical line alone.
    const continued = continuedText(physical);
    if (continued !== undefined) {
      // systemd's join: the continuing backslash becomes a space and the next line is appended as is.
      const piece = `${continued} `;
      if (pending === undefined) pending = { parts: [piece], line };
      else pending.parts.push(piece);
      return;
    }
    if (pending === undefined) return logical(physical, line);
    pending.parts.push(physical);
    const { parts, line: start } = pending;
    pending = undefined;
    logical(parts.join(''), start);
  });
  if (pending !== undefined) logical(pending.parts.join(''), pending.line);
  return parsed;
}

function sectionName(content: string, file: string, line: number): string {
  if (!content.endsWith(']')) {
    throw new QuadletError(file, `invalid section header "${clip(content)}": it must end with "]"`, line);
  }
  const name = content.slice(1, -1);
  if (name === '' || UNSAFE_SECTION_NAME.test(name)) {
    throw new QuadletError(file, `invalid section name in "${clip(content)}"`, line);
  }
  return name;
}

/** The last assignment of `key` in `section` across `files` taken in order (later files override). */
export function lastEntry(files: readonly UnitFile[], section: string, key: string): UnitEntry | undefined {
  let found: UnitEntry | undefined;
  for (const unit of files) {
    for (const entry of unit.entries) {
      if (entry.section === section && entry.key === key) found = entry;
    }
  }
  return found;
}
