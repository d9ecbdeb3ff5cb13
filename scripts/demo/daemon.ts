// bound-imaged for the demo: its config file, the process (dist/src/main.js on the private bus, inside
// the private journald's mount namespace when there is one, so it logs to that journald), and
// waiting until it owns org.bootc.BoundImages.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonConfigText } from '../harness/daemon-config.js';
import { BOUND_IMAGES_BUS_NAME, type PrivateBus } from '../harness/dbus-daemon.js';
import type { JournaldHarness } from '../harness/journald.js';
import { run, spawnService, waitUntil, type ServiceProcess } from '../harness/proc.js';

/** The built daemon and client (this file is dist/scripts/demo/daemon.js once built). */
export const DAEMON_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface DemoDaemonConfig {
  storePath: string;
  podmanSocket: string;
  root: string;
  stateDirectory: string;
  /** The global [pull] auth-file; the demo points it at a file that does not exist (anonymous). */
  authFile: string;
}

/** Writes the config.ini the demo gives the daemon (keys: docs/configuration.md). */
export async function writeDaemonConfig(file: string, c: DemoDaemonConfig): Promise<void> {
  await writeFile(
    file,
    daemonConfigText({
      ...c,
      roots: [c.root],
      pull: ['concurrency = 3', 'retries = 1', 'retry-delay = 0.2'],
      // The demo stops and inspects the daemon between steps: it must not exit when idle.
      daemon: ['idle-exit = 0'],
    }),
  );
}

export interface DemoDaemon extends ServiceProcess {
  /** What a reader would type: `node …/main.js --config FILE`. */
  readonly argv: readonly string[];
  readonly stderrFile: string;
  stderr(): string;
}

/**
 * Starts the daemon on `bus`. With `journald`, it runs in journald's private mount namespace
 * (`nsenter --mount`), where /run/systemd/journal/socket is that journald's.
 */
export function startDaemon(opts: {
  bus: PrivateBus;
  configFile: string;
  dir: string;
  journald?: JournaldHarness;
}): DemoDaemon {
  const argv = [process.execPath, DAEMON_MAIN, '--config', opts.configFile];
  const wrap = opts.journald ? ['nsenter', '--mount', `--target=${opts.journald.pid}`, '--'] : [];
  const [cmd, ...args] = [...wrap, ...argv] as [string, ...string[]];
  const env: NodeJS.ProcessEnv = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: opts.bus.address };
  for (const key of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']) delete env[key];
  const stderrFile = join(opts.dir, 'daemon.stderr');
  const proc = spawnService(cmd, args, { env, stdoutFile: join(opts.dir, 'daemon.stdout'), stderrFile });
  return Object.assign(proc, {
    argv,
    stderrFile,
    stderr: (): string => (existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : ''),
  });
}

/** Waits until the daemon owns its bus name (it takes the name once it is ready). */
export async function waitForDaemon(bus: PrivateBus, daemon: DemoDaemon, timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    `${BOUND_IMAGES_BUS_NAME} on ${bus.address}`,
    async () => {
      const { stdout } = await run('busctl', [
        `--address=${bus.address}`,
        'call',
        'org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus',
        'NameHasOwner',
        's',
        BOUND_IMAGES_BUS_NAME,
      ]);
      return stdout.trim() === 'b true';
    },
    {
      timeoutMs,
      intervalMs: 50,
      giveUp: () => (daemon.hasExited() ? `bound-imaged exited:\n${daemon.stderr().trim()}` : undefined),
    },
  );
}
