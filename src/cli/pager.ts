// The pager for tables on a terminal, as systemctl and journalctl do it: when stdout is a terminal and
// --no-pager was not given, the text goes through $BOUND_IMAGES_PAGER, else $PAGER, else `less`
// (run by `sh -c`, so a value may carry arguments); `less` gets LESS=FRSXMK unless LESS is set, so a
// table that fits the screen is printed and the pager exits at once. An empty value or `cat` means
// no pager; a pager that cannot be started means the text is written directly.
import { spawn } from 'node:child_process';

export interface PagerOptions {
  /** --no-pager */
  noPager: boolean;
  /** Whether stdout is a terminal. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** The shell command of the pager to use, or null for none. */
export function pagerCommand(opts: PagerOptions): string | null {
  if (opts.noPager || !opts.isTTY) return null;
  const chosen = opts.env.BOUND_IMAGES_PAGER ?? opts.env.PAGER ?? 'less';
  const command = chosen.trim();
  return command === '' || command === 'cat' ? null : command;
}

/** The pager's environment: the caller's, with LESS=FRSXMK when LESS is unset. */
export function pagerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.LESS === undefined ? { ...env, LESS: 'FRSXMK' } : env;
}

/**
 * Writes `text` to `out` through the pager when one applies, and resolves when the pager has exited
 * (the user may quit it before reading everything: that is not an error).
 */
export function writePaged(text: string, out: NodeJS.WritableStream, opts: PagerOptions): Promise<void> {
  const command = pagerCommand(opts);
  if (command === null) {
    out.write(text);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let started = false;
    const child = spawn('sh', ['-c', command], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: pagerEnv(opts.env),
    });
    child.once('spawn', () => {
      started = true;
    });
    child.once('error', () => {
      // sh itself could not be started: the text must not be lost.
      if (!started) out.write(text);
      resolve();
    });
    child.once('exit', () => resolve());
    // A pager quit early closes its stdin: EPIPE here is the user's choice, not a failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
}
