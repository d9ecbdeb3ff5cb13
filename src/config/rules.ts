// Value rules of the configuration keys: each turns the text of one value into a typed value or says,
// in words a reader can act on, what the value must be. No knowledge of which key uses which rule.
import { clip } from '../clip.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface Rule<T> {
  /** What a valid value is, e.g. `an integer from 1 to 32`; used in errors and docs. */
  readonly expects: string;
  check(text: string): Checked<T>;
}

/** A value as shown in an error: quoted, and cut when very long. */
export function show(text: string): string {
  return JSON.stringify(clip(text));
}

function expected<T>(expects: string, text: string): Checked<T> {
  return { ok: false, reason: `expected ${expects}, got ${show(text)}` };
}

/** A decimal integer (digits only: no sign, no exponent, no hex) within [min, max]. */
export function integer(min: number, max: number): Rule<number> {
  const expects = `an integer from ${min} to ${max}`;
  return {
    expects,
    check(text) {
      if (!/^\d+$/.test(text)) return expected(expects, text);
      const value = Number(text);
      return value >= min && value <= max ? { ok: true, value } : expected(expects, text);
    },
  };
}

/** The word `auto` (any letter case), or a decimal integer within [min, max] as integer() reads it. */
export function autoOrInteger(min: number, max: number): Rule<number | 'auto'> {
  const whole = integer(min, max);
  const expects = `auto or ${whole.expects}`;
  return {
    expects,
    check(text) {
      if (text.toLowerCase() === 'auto') return { ok: true, value: 'auto' };
      const checked = whole.check(text);
      return checked.ok ? checked : expected(expects, text);
    },
  };
}

/** A non-negative decimal number (`1`, `0.5`, `.25`) within [min, max]. */
export function decimal(min: number, max: number): Rule<number> {
  const expects = `a number from ${min} to ${max} (decimals allowed)`;
  return {
    expects,
    check(text) {
      if (!/^(\d+(\.\d+)?|\.\d+)$/.test(text)) return expected(expects, text);
      const value = Number(text);
      return value >= min && value <= max ? { ok: true, value } : expected(expects, text);
    },
  };
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

/** A boolean spelled as systemd spells them, any letter case: true/yes/on/1 or false/no/off/0. */
const BOOLEAN_EXPECTS = 'a boolean (true, false, yes, no, on, off, 1 or 0)';
export const boolean: Rule<boolean> = {
  expects: BOOLEAN_EXPECTS,
  check(text) {
    const word = text.toLowerCase();
    if (TRUE_WORDS.includes(word)) return { ok: true, value: true };
    if (FALSE_WORDS.includes(word)) return { ok: true, value: false };
    return expected(BOOLEAN_EXPECTS, text);
  },
};

/** One absolute path, kept as written. */
export const absolutePath: Rule<string> = {
  expects: 'an absolute path',
  check(text) {
    return text.startsWith('/') ? { ok: true, value: text } : expected('an absolute path', text);
  },
};

/** A whitespace-separated, non-empty list of absolute paths or globs; repeats are dropped. */
export const absolutePathList: Rule<string[]> = {
  expects: 'a space-separated list of absolute paths or globs',
  check(text) {
    const items = text.split(/\s+/).filter((item) => item !== '');
    if (items.length === 0) return { ok: false, reason: `expected at least one absolute path or glob` };
    const relative = items.find((item) => !item.startsWith('/'));
    if (relative !== undefined) {
      return { ok: false, reason: `expected absolute paths or globs, got ${show(relative)}` };
    }
    return { ok: true, value: [...new Set(items)] };
  },
};

/** A whitespace-separated, non-empty list of absolute paths (no globs), in order; repeats are dropped. */
export const absolutePaths: Rule<string[]> = {
  expects: 'one or more absolute paths, separated by spaces',
  check(text) {
    const items = text.split(/\s+/).filter((item) => item !== '');
    if (items.length === 0) return { ok: false, reason: 'expected at least one absolute path' };
    const relative = items.find((item) => !item.startsWith('/'));
    if (relative !== undefined)
      return { ok: false, reason: `expected absolute paths, got ${show(relative)}` };
    return { ok: true, value: [...new Set(items)] };
  },
};
