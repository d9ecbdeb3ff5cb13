// The demo's console output: step headings, `$ command` lines, indented blocks of real output and
// short explanations. Bold headings on a terminal, plain text in a pipe (what the test reads).
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument as a POSIX shell would need it written (single-quoted when it is not a plain word). */
export function shellQuote(arg: string): string {
  if (arg !== '' && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An argv as one copy-pasteable shell command line. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

export class Output {
  private readonly bold: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    this.bold = stream.isTTY === true && process.env.TERM !== 'dumb';
  }

  get isTerminal(): boolean {
    return this.stream.isTTY === true;
  }

  /** `== N. Title ==` (or `== Title ==` without a step number), after a blank line. */
  heading(step: number | null, title: string): void {
    const text = step === null ? `== ${title} ==` : `== ${step}. ${title} ==`;
    this.write(`\n${this.bold ? `\u001b[1m${text}\u001b[0m` : text}\n`);
  }

  /** Explanatory text (may be several lines). */
  say(text: string): void {
    this.write(`${text}\n`);
  }

  /** The command about to run, as `$ …`. */
  command(argv: readonly string[] | string): void {
    this.write(`$ ${typeof argv === 'string' ? argv : commandLine(argv)}\n`);
  }

  /** Output of a command, verbatim (a trailing newline is added when missing). */
  block(text: string): void {
    if (text === '') return;
    this.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Lines indented by `indent` spaces. */
  indented(text: string, indent = 2): void {
    const pad = ' '.repeat(indent);
    const lines = text.replace(/\n$/, '').split('\n');
    this.write(lines.map((l) => (l === '' ? '' : pad + l)).join('\n') + '\n');
  }

  /** A raw chunk, e.g. a child's output as it arrives. */
  write(text: string): void {
    this.stream.write(text);
  }
}
