// Turning a written value into the string Quadlet and systemd would use, for the keys bound images
// read (Image=, AuthFile=, Arch=, OS=, Variant=): one pair of surrounding double quotes is removed (as
// Quadlet's Lookup does), then `%%` becomes `%` and any other `%` specifier is refused (bootc's rule:
// systemd would expand it at run time to something discovery cannot know).
import { QuadletError } from './quadlet-error.js';
import type { UnitEntry } from './unit-file.js';
import { clip } from '../clip.js';

/**
 * `%%` → `%`; a `%` followed by anything else, or at the end, is an error.
 * `where` names the assignment in the error.
 */
export function expandSpecifiers(value: string, where: UnitEntry): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const next = value[i + 1];
    if (next === '%') {
      out += '%';
      i++;
      continue;
    }
    const what = next === undefined ? 'a lone "%" at the end' : `the specifier "%${next}"`;
    throw new QuadletError(
      where.file,
      `${where.key}=${clip(value)}: ${what} is not supported in bound images (systemd would expand it at run time; write "%%" for a literal "%")`,
      where.line,
    );
  }
  return out;
}

/**
 * Remove one pair of double quotes enclosing the whole value, as Quadlet does. Single quotes are
 * refused: systemd would remove them but Quadlet keeps them, so the two would disagree on the value.
 * Backslashes are kept as written: Quadlet does not decode escape sequences in these keys.
 */
export function unquote(value: string, where: UnitEntry): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1);
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) {
    throw new QuadletError(
      where.file,
      `${where.key}=${clip(value)}: single quotes are not supported (Quadlet keeps them as part of the value); use double quotes or none`,
      where.line,
    );
  }
  return value;
}

/** The value of an assignment as the bound-image rules read it: unquoted, then specifiers expanded. */
export function readValue(entry: UnitEntry): string {
  return expandSpecifiers(unquote(entry.value, entry), entry);
}
