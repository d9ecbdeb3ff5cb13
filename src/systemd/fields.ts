// Turns the structured fields a caller passes to the logger into journal fields: names mapped to
// journald's UPPER_SNAKE form, values to redacted single strings. Field *names* come from code,
// so a name journald would drop (or one that would overwrite MESSAGE/PRIORITY/…) is a programming
// error and throws; field *values* come from the world and are never refused, only cleaned.
import { isSecretFieldName, REDACTED, redactText } from './redact.js';

/** Structured context of one log message. Well-known keys first; any other camelCase or UPPER_SNAKE key is allowed. */
export interface LogFields {
  /** One of `MessageId`: 32 lowercase hex digits. */
  messageId?: string;
  /** A normalized image reference. */
  image?: string;
  /** The Quadlet file (root-absolute) that bound the image. */
  boundSource?: string;
  jobId?: number;
  /** A deployment root (absolute host path). */
  root?: string;
  [extra: string]: string | number | undefined;
}

/** One journal field, ready to send: `name` is valid for journald, `value` is redacted. */
export interface JournalField {
  name: string;
  value: string;
}

/** Fields the logger sets itself; a caller's field may not override them. */
const RESERVED = new Set(['MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER', 'SYSLOG_FACILITY', 'SYSLOG_PID']);
const RESERVED_PREFIXES = ['CODE_', 'SYSLOG_', 'COREDUMP_', 'OBJECT_'];
const MESSAGE_ID = /^[0-9a-f]{32}$/;
/** journald: `[A-Z0-9_]`, not starting with a digit or `_`, at most 64 characters. */
const MAX_NAME = 64;

/** `boundSource` → `BOUND_SOURCE`, `jobId` → `JOB_ID`, `IMAGE_ID` stays. Throws on a name journald would drop. */
export function journalFieldName(key: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) {
    throw new TypeError(
      `log field name '${key}' is not valid: use letters, digits and '_', starting with a letter`,
    );
  }
  const name = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  if (name.length > MAX_NAME) {
    throw new TypeError(`log field name '${key}' is longer than ${MAX_NAME} characters as '${name}'`);
  }
  if (RESERVED.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p))) {
    throw new TypeError(`log field name '${key}' (${name}) is reserved for the logger or journald`);
  }
  return name;
}

/** Makes a value safe for any sink: credentials redacted, NUL bytes (which the native binding mishandles) replaced. */
export function cleanValue(value: string): string {
  return redactText(value).replace(/\0/g, '\uFFFD');
}

/**
 * Maps caller fields to journal fields, in the caller's order; `undefined` values are left out.
 * Secret-looking names keep the field but lose the value; an invalid `messageId` throws.
 */
export function toJournalFields(fields: LogFields | undefined): JournalField[] {
  const out: JournalField[] = [];
  const seen = new Map<string, string>();
  for (const [key, raw] of Object.entries(fields ?? {})) {
    if (raw === undefined) continue;
    const name = journalFieldName(key);
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new TypeError(`log fields '${earlier}' and '${key}' both map to ${name}`);
    }
    seen.set(name, key);
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      throw new TypeError(`log field '${key}' must be a string or a number, not ${typeof raw}`);
    }
    if (name === 'MESSAGE_ID' && !(typeof raw === 'string' && MESSAGE_ID.test(raw))) {
      throw new TypeError(
        `log field '${key}' must be a MessageId (32 lowercase hex digits), got '${String(raw)}'`,
      );
    }
    const value = isSecretFieldName(name) ? REDACTED : cleanValue(String(raw));
    out.push({ name, value });
  }
  return out;
}
