// The exit codes of the bound-images command and the error that ends it with one. The D-Bus contract
// itself (names, paths, properties, error names) is src/contract/, shared with the daemon.

export const ExitCode = {
  /** The command did what it was asked; for upgrade: the reconcile succeeded. */
  Ok: 0,
  /** The reconcile failed or was cancelled (or the daemon refused a request as failed). */
  Failed: 1,
  /** Bad command line. */
  Usage: 2,
  /** The daemon cannot be reached, went away, answered nonsense, or denied access. */
  Unreachable: 3,
  /** check: no error, but bootc-incompatible entries or consumer warnings. */
  Findings: 4,
  /** Interrupted (SIGINT/SIGTERM) while following a job; the job itself keeps running. */
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that ends the command with `code` and a one-line `message` on stderr. */
export class CliError extends Error {
  /**
   * `dbusError`: the D-Bus error name of the reply behind it, when there was one (what a command
   * decides on; the message is for people).
   */
  constructor(
    readonly code: ExitCodeValue,
    message: string,
    readonly dbusError?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
