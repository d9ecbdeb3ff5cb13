#!/usr/bin/env node
// bound-images: the client of bound-imaged. Parses the command line, connects to the system bus,
// runs one command and exits 0 (success), 1 (the reconcile failed or was cancelled; check: an
// error), 2 (usage error), 3 (daemon unreachable or access denied), 4 (check: findings but no error)
// or 130 (interrupted while following a job), with a one-line reason on stderr for every non-zero
// code but check's 1 and 4, whose findings are the output. `check` needs no bus at all. The timer runs it hourly, so it loads only what
// the command needs: dbus-next once a bus is needed, cli-progress only on a terminal.
import { messageOf } from '../errors.js';
import { parseCommandLine, type Command } from './args.js';
import { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';
import type { Io } from './commands.js';
import { errorJson, jsonDocument } from './format.js';
import type { Reporter } from './reporters.js';

function wantsJson(command: Command | null, argv: readonly string[]): boolean {
  return command ? 'json' in command && command.json : argv.includes('--json');
}

function makeIo(command: Command): Io {
  const json = 'json' in command && command.json;
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    async reporter(): Promise<Reporter> {
      const { BarReporter, JsonReporter, PlainReporter } = await import('./reporters.js');
      if (json) return new JsonReporter(process.stdout);
      if (process.stdout.isTTY && process.env.TERM !== 'dumb') {
        // cli-progress is CommonJS: its module.exports is the default export, in Node and in the bundle
        // (whose dynamic import of a CommonJS chunk offers nothing else).
        return new BarReporter((await import('cli-progress')).default, process.stdout);
      }
      return new PlainReporter(process.stdout);
    },
    onInterrupt(stop) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      };
    },
    now: () => Date.now(),
    async writeTable(text, pager) {
      const { writePaged } = await import('./pager.js');
      await writePaged(text, process.stdout, {
        noPager: !pager,
        isTTY: process.stdout.isTTY === true,
        env: process.env,
      });
    },
  };
}

async function run(command: Command): Promise<ExitCodeValue> {
  if (command.kind === 'help') {
    process.stdout.write(command.text);
    return ExitCode.Ok;
  }
  if (command.kind === 'version') {
    const { readVersion } = await import('../version.js');
    process.stdout.write(`bound-images ${readVersion()}\n`);
    return ExitCode.Ok;
  }
  if (command.kind === 'check') {
    // Offline: no bus. The lint (discovery and its rules) is loaded only for this command.
    const { runCheck } = await import('./check.js');
    return runCheck(command, process.stdout);
  }
  const [{ connectSystemBus }, commands] = await Promise.all([import('./bus.js'), import('./commands.js')]);
  const io = makeIo(command);
  const bus = await connectSystemBus();
  try {
    switch (command.kind) {
      case 'status':
        return await commands.status(bus, io, command.json);
      case 'list':
        return await commands.list(bus, io, command);
      case 'jobs':
        return await (await import('./jobs.js')).jobs(bus, io, command);
      case 'upgrade':
        return await commands.upgrade(bus, io, command);
      case 'cancel':
        return await commands.cancel(bus, io, command.job, command.json);
    }
  } finally {
    bus.close();
  }
}

/** Runs bound-images with `argv` (without node and the script) and returns the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  let command: Command | null = null;
  try {
    command = parseCommandLine(argv);
    return await run(command);
  } catch (err) {
    const code = err instanceof CliError ? err.code : ExitCode.Failed;
    const message = err instanceof CliError ? err.message : `internal error: ${messageOf(err)}`;
    process.stderr.write(`bound-images: ${message}\n`);
    if (wantsJson(command, argv)) process.stdout.write(jsonDocument(errorJson(code, message)));
    return code;
  }
}

/**
 * Exit once stdout and stderr have handed everything to the kernel. Writes to files and terminals
 * are synchronous, but a pipe whose reader is slower than us fills up (64 KiB), and what is still
 * queued then would be lost by process.exit(): a long `check --json` piped into a parser came out
 * cut at 65,536 bytes. An empty write's callback runs after the writes queued before it.
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

// Exit explicitly: nothing left behind (a socket the bus has not closed yet) may keep the timer's run
// alive.
main(process.argv.slice(2)).then(exitAfterFlush, (err: unknown) => {
  process.stderr.write(`bound-images: internal error: ${messageOf(err)}\n`);
  exitAfterFlush(ExitCode.Failed);
});
