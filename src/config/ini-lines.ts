// Where things are in an ini text. `ini` (v5) returns values but no line numbers, so this re-reads the
// text with ini's own line grammar (the same line regex and the same `unsafe()` for names) and records
// every section header and key with its 1-based line. Values are left to `ini` itself.
import ini from 'ini';

export type IniLine =
  | { kind: 'section'; line: number; name: string }
  | {
      kind: 'key';
      line: number;
      /** The section the key falls in, or null before the first header. */
      section: string | null;
      /** The key as ini reads it, `[]` suffix included. */
      rawKey: string;
      /** The key ini stores the value under (`[]` suffix removed). */
      key: string;
      /** `key[]`: ini collects the values in an array. */
      array: boolean;
      /** False for a bare `key` line without `=` (ini then stores boolean true). */
      hasValue: boolean;
    }
  | { kind: 'unreadable'; line: number; text: string };

// Copied from ini@5 decode(): `[section]` alone on its line, or `key`, or `key=value`.
const INI_LINE = /^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$/i;

/** Scan `text` (BOM already removed) line by line; blank and comment lines yield nothing. */
export function scanIniLines(text: string): IniLine[] {
  const found: IniLine[] = [];
  let section: string | null = null;
  // ini splits on runs of CR/LF; counting each CRLF, CR or LF as one line break gives the same
  // non-empty lines and the line numbers an editor shows.
  text.split(/\r\n|\r|\n/).forEach((content, index) => {
    const line = index + 1;
    if (content === '' || /^\s*[;#]/.test(content) || /^\s*$/.test(content)) return;
    const match = INI_LINE.exec(content);
    if (match === null) {
      found.push({ kind: 'unreadable', line, text: content });
      return;
    }
    if (match[1] !== undefined) {
      section = ini.unsafe(match[1]);
      found.push({ kind: 'section', line, name: section });
      return;
    }
    const rawKey = ini.unsafe(match[2] ?? '');
    const array = rawKey.length > 2 && rawKey.endsWith('[]');
    found.push({
      kind: 'key',
      line,
      section,
      rawKey,
      key: array ? rawKey.slice(0, -2) : rawKey,
      array,
      hasValue: match[3] !== undefined,
    });
  });
  return found;
}
