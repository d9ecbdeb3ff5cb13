// clip(): how much of a piece of untrusted input (a line of a unit file, a value, a reference, what a
// D-Bus caller sent) an error message echoes back; every cut in the project is made here. The whole
// input can be 64 KiB; an error names the file and line, and the first 200 characters are enough to
// recognise the line there.

/** Longest piece of input echoed in an error message, in UTF-16 code units. */
export const MAX_ECHOED = 200;
/**
 * Longest name or value a D-Bus caller sent that a reply echoes (an option name, a root path), the
 * cut included: the reply stays one short line whatever the caller sent.
 */
export const MAX_ECHOED_NAME = 80;

/** `text`, cut to `max` code units with `marker` after the cut; unchanged when short enough. */
export function clip(text: string, max = MAX_ECHOED, marker = '…'): string {
  if (text.length <= max) return text;
  // Do not cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return `${text.slice(0, end)}${marker}`;
}

/** What a D-Bus caller sent, as a reply echoes it: at most MAX_ECHOED_NAME code units, a cut one ending in "...". */
export function clipName(text: string): string {
  return text.length <= MAX_ECHOED_NAME ? text : clip(text, MAX_ECHOED_NAME - 3, '...');
}
