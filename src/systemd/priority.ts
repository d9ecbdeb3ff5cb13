// Syslog priorities as journald and sd-daemon(3) know them: names, numeric levels, parsing.

export const PRIORITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

export type Priority = (typeof PRIORITIES)[number];

/** The syslog level of a priority: 0 (emerg) … 7 (debug); lower is more severe. */
export function priorityLevel(priority: Priority): number {
  return PRIORITIES.indexOf(priority);
}

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}

/** Parses a priority name (`warning`) or level (`4`), as `journalctl -p` accepts them. */
export function parsePriority(value: string): Priority {
  const trimmed = value.trim().toLowerCase();
  if (isPriority(trimmed)) return trimmed;
  if (/^[0-7]$/.test(trimmed)) return PRIORITIES[Number(trimmed)] as Priority;
  throw new RangeError(`unknown log priority '${value}': expected one of ${PRIORITIES.join(', ')} or 0-7`);
}
