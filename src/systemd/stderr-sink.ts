// The stderr sink, used when no journal socket exists: one line per message in sd-daemon(3) style,
// `<3>pull failed job=4 image=quay.io/a/b:1 error="…"`, so systemd (SyslogLevelPrefix=) or a reader
// still sees the priority and the key fields. MESSAGE_ID is left out: it only means something in
// the journal.
import type { JournalField } from './fields.js';
import type { Priority } from './priority.js';
import { priorityLevel } from './priority.js';

/** Where a prepared log message goes. */
export interface Sink {
  write(priority: Priority, message: string, fields: readonly JournalField[]): void;
}

/** Journal field → short stderr key; the others are lower-cased. */
const SHORT_KEYS: Record<string, string> = { JOB_ID: 'job', BOUND_SOURCE: 'source' };
/** These come first, in this order; the rest follow in the caller's order. */
const LEADING = ['JOB_ID', 'IMAGE', 'ROOT', 'BOUND_SOURCE'];
const OMITTED = new Set(['MESSAGE_ID']);
const BARE_VALUE = /^[^\s"\\=\p{Cc}]+$/u;

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters (C0, DEL, C1) and line separators become escapes (`\n`, `\u0000`) so a message stays on one line. */
function oneLine(text: string): string {
  return text.replace(
    /[\p{Cc}\u2028\u2029]/gu,
    (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A value without spaces, quotes, `=` or control characters stays bare; others are quoted and escaped. */
function formatValue(value: string): string {
  return BARE_VALUE.test(value) ? value : `"${oneLine(value.replace(/["\\]/g, '\\$&'))}"`;
}

function rank(name: string): number {
  const i = LEADING.indexOf(name);
  return i === -1 ? LEADING.length : i;
}

/** `<N>message key=value …` without the trailing newline. */
export function formatStderrLine(
  priority: Priority,
  message: string,
  fields: readonly JournalField[],
): string {
  const shown = fields.filter((f) => !OMITTED.has(f.name));
  // Array.prototype.sort is stable: fields outside LEADING keep the caller's order.
  const ordered = [...shown].sort((a, b) => rank(a.name) - rank(b.name));
  const tail = ordered
    .map((f) => ` ${SHORT_KEYS[f.name] ?? f.name.toLowerCase()}=${formatValue(f.value)}`)
    .join('');
  return `<${priorityLevel(priority)}>${oneLine(message)}${tail}`;
}

export function createStderrSink(stream: NodeJS.WritableStream = process.stderr): Sink {
  return {
    write(priority, message, fields) {
      stream.write(formatStderrLine(priority, message, fields) + '\n');
    },
  };
}
