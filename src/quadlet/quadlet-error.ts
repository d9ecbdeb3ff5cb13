// QuadletError: the one error type of the Quadlet module. It always names the file at fault and, when
// known, the 1-based line; the message reads `FILE:LINE: what is wrong`.

export class QuadletError extends Error {
  /** Root-absolute path of the file at fault. */
  readonly file: string;
  /** 1-based line in `file`, when the problem sits on one line. */
  readonly line?: number;
  /** The message without the `FILE:LINE: ` prefix. */
  readonly detail: string;

  constructor(file: string, detail: string, line?: number, options?: { cause?: unknown }) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${detail}`, options);
    this.name = 'QuadletError';
    this.file = file;
    this.detail = detail;
    if (line !== undefined) this.line = line;
  }
}
