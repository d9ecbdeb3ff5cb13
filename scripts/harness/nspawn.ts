// A real systemd, booted in a throwaway systemd-nspawn container of the host itself:
//   systemd-nspawn -D / --volatile=yes --overlay=/etc::/etc --overlay=/usr::/usr --register=no
//                  --keep-unit -b -- systemd.firstboot=off systemd.unit=<target>
// The root is a tmpfs, /etc and /usr are writable overlays whose upper layers vanish with the
// container, so nothing of the host changes (never boot systemd on the host root: its tmpfiles wipe
// /tmp). The container shares the host's network namespace: a loopback registry on the host is
// reachable from inside. Commands run inside with `nsenter -t <its PID 1> -a`.
//
// Teardown (stop(), also on process exit through cleanup.ts): SIGTERM to systemd-nspawn (an orderly
// shutdown of the container), then SIGKILL of the container's PID 1 (which ends its whole PID
// namespace, and with it every mount inside) and of nspawn. nspawn runs under
// `setpriv --pdeathsig SIGKILL`, and the container's PID 1 is recorded as a tracked child, so even a
// test runner killed by SIGKILL leaves nothing that the next run's reapStrays() does not end.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, readCmdline, releaseDir, trackChild, untrackChild } from './cleanup.js';
import { runStatus } from './proc.js';

export interface NspawnBind {
  /** Directory on the host. */
  host: string;
  /** Where it appears inside the container (default: the same path). */
  container?: string;
  readOnly?: boolean;
}

export interface NspawnOptions {
  /** Unit systemd boots into (default `basic.target`: sockets, timers, D-Bus and journald, without the
   * host's own services; `default.target` boots everything the host has enabled). */
  target?: string;
  binds?: NspawnBind[];
  /** Extra kernel-command-line style arguments for the container's systemd, e.g. `systemd.mask=foo.service`. */
  systemdArgs?: string[];
  /** Give up when the boot has not finished after this long (default 60 s). */
  bootTimeoutMs?: number;
}

export interface ExecOptions {
  /** Run as this user (name or uid) inside the container, via setpriv, with no supplementary groups. */
  user?: string;
  input?: string;
  timeoutMs?: number;
  /** Extra environment (the command starts from a clean one with PATH and LANG). */
  env?: Record<string, string>;
}

export interface ExecResult {
  /** Exit status; null when killed by a signal (or the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface NspawnMachine {
  /** The machine name given to nspawn (unique per boot). */
  readonly name: string;
  /** The container's PID 1, as the host sees it. */
  readonly leaderPid: number;
  /** From the nspawn start until `systemctl is-system-running --wait` answered. */
  readonly bootMs: number;
  /** Host temp dir with the console log (`console.log`). */
  readonly dir: string;
  /** Runs a command inside; never rejects for a non-zero exit (see `code`). */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Runs a command inside and rejects, with its stderr and the command, unless it exits 0. */
  check(argv: string[], opts?: ExecOptions): Promise<string>;
  /** `check(['sh', '-euc', script])`: a shell script inside, stopping at its first failure. */
  sh(script: string, opts?: ExecOptions): Promise<string>;
  /** `systemctl show` of the unit's properties, as a record of name → value. */
  show(unit: string, ...props: string[]): Promise<Record<string, string>>;
  /** busctl --json=short output → its `data` (the call's out-arguments, or the property's value). */
  busJson(args: string[], opts?: ExecOptions): Promise<unknown>;
  /** The unit's journal entries (`journalctl -o json -u <unit>`), oldest first. */
  journal<E extends object = JournalEntry>(unit: string): Promise<E[]>;
  /** The console output so far (boot messages, for diagnosis). */
  console(): string;
  isRunning(): boolean;
  /** Shuts the container down (orderly, then by force) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** A journal entry as `journalctl -o json` prints it (fields of binary data aside). */
export type JournalEntry = Record<string, string | undefined>;

const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
let bootCount = 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') !== true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined, and returns
 * that. A probe that throws counts as not yet; after `timeoutMs` it rejects naming `what` and the
 * probe's last error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** The child of `parentPid` that is PID 1 of a new PID namespace (NSpid ends in "\t1"). */
function containerLeader(parentPid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parentPid) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1') return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** Runs a host command (under pdeathsig, tracked) and collects its output, whatever its status. */
async function runHost(
  command: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const r = await runStatus(command, args, opts);
  return {
    code: r.code,
    stdout: r.stdout,
    stderr: r.startError === undefined ? r.stderr : r.stderr + r.startError,
  };
}

function nspawnArgs(name: string, dir: string, opts: NspawnOptions): string[] {
  const binds = (opts.binds ?? []).map(
    (b) => `--${b.readOnly ? 'bind-ro' : 'bind'}=${b.host}:${b.container ?? b.host}`,
  );
  return [
    '--quiet',
    '-D',
    '/',
    '--volatile=yes',
    // Upper layers in our temp dir, not nspawn's default /var/tmp/nspawn-temp-*: whatever a killed
    // run leaves there, reapStrays() removes with the dir.
    `--overlay=/etc:${join(dir, 'etc-upper')}:/etc`,
    `--overlay=/usr:${join(dir, 'usr-upper')}:/usr`,
    // Debian leaves /var/tmp to base-files, not tmpfiles.d: on the volatile root it would be missing,
    // and Podman stages pulls there.
    '--tmpfs=/var/tmp:mode=1777',
    '--register=no',
    '--keep-unit',
    `--machine=${name}`,
    ...binds,
    '-b',
    '--',
    'systemd.firstboot=off',
    `systemd.unit=${opts.target ?? 'basic.target'}`,
    ...(opts.systemdArgs ?? []),
  ];
}

const PROPAGATE_DIR = '/run/systemd/nspawn/propagate';

/** nspawn leaves /run/systemd/nspawn/propagate/<machine> behind; remove those of dead runs. */
function sweepPropagateDirs(): void {
  let names: string[];
  try {
    names = readdirSync(PROPAGATE_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = /^bound-imaged-(\d+)-\d+$/.exec(name)?.[1];
    if (owner !== undefined && !alive(Number(owner))) {
      rmSync(join(PROPAGATE_DIR, name), { recursive: true, force: true });
    }
  }
}

/** Boots the host's systemd in a throwaway container and waits until its boot has finished. */
export async function bootNspawn(opts: NspawnOptions = {}): Promise<NspawnMachine> {
  sweepPropagateDirs();
  const name = `bound-imaged-${process.pid}-${++bootCount}`;
  const dir = makeTempDir('nspawn');
  const consoleFile = join(dir, 'console.log');
  const started = Date.now();
  mkdirSync(join(dir, 'etc-upper'));
  mkdirSync(join(dir, 'usr-upper'));
  const fd = openSync(consoleFile, 'a');
  let nspawn: ChildProcess;
  try {
    nspawn = spawn(
      'setpriv',
      ['--pdeathsig', 'SIGKILL', '--', 'systemd-nspawn', ...nspawnArgs(name, dir, opts)],
      {
        stdio: ['ignore', fd, fd],
      },
    );
  } finally {
    closeSync(fd);
  }
  const nspawnPid = nspawn.pid;
  if (nspawnPid === undefined) {
    releaseDir(dir);
    throw new Error('systemd-nspawn: could not start');
  }
  trackChild(nspawnPid, ['systemd-nspawn', ...nspawnArgs(name, dir, opts)], () => nspawn.kill('SIGKILL'));
  let nspawnExited = false;
  const nspawnDone = new Promise<void>((resolve) =>
    nspawn.once('exit', () => {
      nspawnExited = true;
      untrackChild(nspawnPid);
      resolve();
    }),
  );

  const readConsole = (): string => {
    try {
      return readFileSync(consoleFile, 'utf8');
    } catch {
      return '';
    }
  };
  let leaderPid: number | undefined;
  let bootMs = 0;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!nspawnExited) {
      nspawn.kill('SIGTERM');
      await Promise.race([nspawnDone, sleep(15_000)]);
    }
    if (leaderPid !== undefined && alive(leaderPid)) {
      try {
        process.kill(leaderPid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    if (!nspawnExited) {
      nspawn.kill('SIGKILL');
      await nspawnDone;
    }
    if (leaderPid !== undefined) {
      for (let i = 0; i < 100 && alive(leaderPid); i++) await sleep(50);
      untrackChild(leaderPid);
    }
    // nspawn leaves this (empty) directory behind when its container is shut down.
    rmSync(join(PROPAGATE_DIR, name), { recursive: true, force: true });
    releaseDir(dir);
  };

  const exec = (argv: string[], eo: ExecOptions = {}): Promise<ExecResult> => {
    if (leaderPid === undefined || !alive(leaderPid)) {
      return Promise.resolve({ code: null, stdout: '', stderr: `container ${name} is not running` });
    }
    const env = Object.entries({ PATH: CONTAINER_PATH, LANG: 'C.UTF-8', ...eo.env }).map(
      ([k, v]) => `${k}=${v}`,
    );
    // setpriv takes a group name only for --regid: look both ids up inside the container.
    const asUser =
      eo.user === undefined
        ? []
        : [
            'sh',
            '-c',
            'exec setpriv --reuid="$(id -u "$0")" --regid="$(id -g "$0")" --clear-groups -- "$@"',
            eo.user,
          ];
    return runHost(
      'nsenter',
      ['-t', String(leaderPid), '-a', '--', 'env', '-i', ...env, ...asUser, ...argv],
      eo,
    );
  };

  const check = async (argv: string[], eo?: ExecOptions): Promise<string> => {
    const r = await exec(argv, eo);
    if (r.code !== 0) {
      const how = r.code === null ? 'killed' : `exit status ${r.code}`;
      throw new Error(`in ${name}: ${argv.join(' ')}: ${how}\n${(r.stderr || r.stdout).trim()}`);
    }
    return r.stdout;
  };

  const machine: NspawnMachine = {
    name,
    get leaderPid() {
      return leaderPid ?? 0;
    },
    get bootMs() {
      return bootMs;
    },
    dir,
    exec,
    check,
    sh: (script, eo) => check(['sh', '-euc', script], eo),
    async show(unit, ...props) {
      const out = await check(['systemctl', 'show', unit, ...props.map((p) => `--property=${p}`)]);
      return Object.fromEntries(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    },
    async busJson(args, eo) {
      const out = await check(['busctl', '--json=short', ...args], eo);
      return (JSON.parse(out) as { data: unknown }).data;
    },
    async journal<E extends object>(unit: string): Promise<E[]> {
      const out = await check(['journalctl', '--no-pager', '-o', 'json', '-u', unit]);
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as E);
    },
    console: readConsole,
    isRunning: () => !nspawnExited && leaderPid !== undefined && alive(leaderPid),
    stop,
  };

  try {
    const deadline = started + (opts.bootTimeoutMs ?? 60_000);
    while (leaderPid === undefined) {
      if (nspawnExited) throw new Error('systemd-nspawn exited during start');
      if (Date.now() > deadline) throw new Error('no container PID 1 appeared');
      leaderPid = containerLeader(nspawnPid);
      if (leaderPid === undefined) await sleep(20);
    }
    // is-system-running --wait needs the manager's private socket: poll until it answers at all.
    let state = '';
    while (Date.now() < deadline) {
      if (nspawnExited) throw new Error('systemd-nspawn exited during boot');
      const r = await exec(['systemctl', 'is-system-running', '--wait'], {
        timeoutMs: Math.max(1000, deadline - Date.now()),
      });
      state = r.stdout.trim();
      if (state === 'running' || state === 'degraded') break;
      await sleep(100);
    }
    if (state !== 'running' && state !== 'degraded') {
      throw new Error(`boot did not finish within ${opts.bootTimeoutMs ?? 60_000} ms (state '${state}')`);
    }
    bootMs = Date.now() - started;
    // Recorded now that PID 1 runs systemd (before, it may still be nspawn's own child): a later
    // run's reapStrays() kills it only while the pid still runs this command line.
    const cmdline = readCmdline(leaderPid);
    if (cmdline) {
      const pid = leaderPid;
      trackChild(pid, cmdline.split('\0').slice(0, -1), () => process.kill(pid, 'SIGKILL'));
    }
    return machine;
  } catch (e) {
    const log = readConsole().split('\n').slice(-30).join('\n');
    await stop();
    throw new Error(`nspawn ${name}: ${(e as Error).message}\nconsole:\n${log}`);
  }
}
