#!/usr/bin/env node
// bound-imaged entry point: arguments, logger and notifier, then the daemon (src/daemon.ts) until a
// signal stops it. Exit codes: 0 stopped cleanly, 1 could not start (config error, bus problem) or
// lost the bus, 2 usage error. `--check-config` validates the configuration and exits (0 valid, 1 not).
import { parseArgs } from 'node:util';
import { CONFIG_PATHS } from './config/paths.js';
import { messageOf, stackOf } from './errors.js';
import { tuneV8 } from './v8-tuning.js';

const USAGE = `usage: bound-imaged [--config PATH]
       bound-imaged --check-config [--config PATH]

Keeps a bootc host's logically bound images in the bootc-owned image store, and
offers that job on the system bus as org.bootc.BoundImages.

options:
  -c, --config PATH   read only this configuration file, which must exist;
                      without it the configuration is layered, later files
                      overriding earlier ones per key (each file optional):
                        ${CONFIG_PATHS.vendor}
                        ${CONFIG_PATHS.main}
                        ${CONFIG_PATHS.dropInDir}/*.ini (in name order)
      --check-config  validate the configuration, print the values in effect
                      and the files they come from, and exit: 0 when valid,
                      1 (with the file, line and key at fault) when not
  -h, --help          show this help and exit
  -V, --version       show the version and exit
`;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function main(argv: string[]): Promise<number> {
  let values: { config?: string; 'check-config'?: boolean; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`bound-imaged: ${messageOf(err)}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (values.config === '') {
    process.stderr.write(`bound-imaged: --config needs a path\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values['check-config'] && !values.version) return checkConfig(values.config);
  tuneV8(); // before the daemon's modules load
  const daemon = await import('./daemon.js');
  if (values.version) {
    process.stdout.write(`bound-imaged ${daemon.readVersion()}\n`);
    return EXIT_OK;
  }

  const [{ createLogger }, { createNotifier }, { MessageId }] = await Promise.all([
    import('./systemd/log.js'),
    import('./systemd/notify.js'),
    import('./systemd/message-ids.js'),
  ]);
  const logger = createLogger();
  const notifier = createNotifier();
  // An operator at a terminal sees start errors even when the structured entry goes to the journal.
  const alsoToTerminal = (text: string): void => {
    if (logger.sink === 'journal' && process.stderr.isTTY) process.stderr.write(`bound-imaged: ${text}\n`);
  };

  let handle: Awaited<ReturnType<typeof daemon.startDaemon>> | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (handle) {
      void handle.stop(signal);
    } else {
      // Nothing to wind down yet: the bus connection, if any, goes with the process.
      notifier.stopping();
      process.exit(EXIT_OK);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    handle = await daemon.startDaemon(
      values.config === undefined ? {} : { configPath: values.config },
      logger,
      notifier,
    );
  } catch (err) {
    const { ConfigError } = await import('./config/config-error.js');
    if (err instanceof ConfigError) {
      logger.err(`invalid configuration: ${err.message}`, {
        messageId: MessageId.ConfigError,
        CONFIG_FILE: err.file,
        LINE: err.line,
        ERROR: err.message,
        ...(err.key !== undefined ? { CONFIG_KEY: err.key } : {}),
      });
      alsoToTerminal(`invalid configuration: ${err.message}`);
    } else {
      logger.err(`cannot start: ${messageOf(err)}`);
      alsoToTerminal(`cannot start: ${messageOf(err)}`);
    }
    return EXIT_FAILURE;
  }
  return handle.done;
}

/** --check-config: the configuration in effect on stdout (exit 0), or its first error on stderr (exit 1). */
async function checkConfig(path: string | undefined): Promise<number> {
  const [{ ConfigError }, { loadConfigFiles }, { renderEffective }] = await Promise.all([
    import('./config/config-error.js'),
    import('./config/load.js'),
    import('./config/effective.js'),
  ]);
  try {
    process.stdout.write(renderEffective(await loadConfigFiles(path)));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bound-imaged: invalid configuration: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bound-imaged: internal error: ${stackOf(err)}\n`);
    process.exit(70);
  },
);
