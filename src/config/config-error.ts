// ConfigError: the one error type of the configuration module. Its message always names the file,
// and, when known, the `section.key` and the 1-based line, as `FILE:LINE: section.key: what is wrong`.

export interface ConfigErrorLocation {
  /** `section.key` the problem is about, e.g. `pull.concurrency`. */
  key?: string;
  /** 1-based line in `file`. */
  line?: number;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly key?: string;
  readonly line?: number;

  constructor(file: string, detail: string, where: ConfigErrorLocation = {}, options?: { cause?: unknown }) {
    const prefix = where.line === undefined ? file : `${file}:${where.line}`;
    super(where.key === undefined ? `${prefix}: ${detail}` : `${prefix}: ${where.key}: ${detail}`, options);
    this.name = 'ConfigError';
    this.file = file;
    if (where.key !== undefined) this.key = where.key;
    if (where.line !== undefined) this.line = where.line;
  }
}
