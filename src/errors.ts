// Reading an unknown thrown value, one way everywhere: its message, its errno code, whether a value
// is a plain record. (Errors of a concern live with it: store/errors.ts, dbus/errors.ts, …)

/** The message of a thrown value: an Error's message, else the value as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The stack of a thrown Error (its message when it has none), else the value as text: for crash reports. */
export function stackOf(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** A thrown value as an Error (an Error as is). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** The errno code of a failed system call (ENOENT, ECONNREFUSED, …), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const code = isRecord(err) ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** An object that is not null and not an array: something to read keys of. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
