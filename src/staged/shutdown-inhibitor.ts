// A logind "delay" inhibitor for shutdown, held while a reconcile pulls for a staged deployment whose
// images are missing, so that a reboot issued mid-pull waits for it (at most logind's
// InhibitDelayMaxSec, 5 s by default), and a watch on logind's PrepareForShutdown signal that says
// in the journal when a shutdown is being delayed.
//
// logind hands an inhibitor out as a file descriptor (Manager.Inhibit → h): it lasts until every copy
// is closed. dbus-next passes descriptors only through its optional native `usocket` module, which
// this project does not build. So the inhibitor is held by `systemd-inhibit --what=shutdown
// --mode=delay … cat` as a child process: systemd-inhibit asks logind, keeps the descriptor and runs
// `cat` on a pipe from us. Closing the pipe (release, or our own death) ends cat, then
// systemd-inhibit, and logind drops the inhibitor. `systemd-inhibit --list` shows it under the
// daemon's name.
import { spawn, type ChildProcess } from 'node:child_process';
import dbus from 'dbus-next';
import type { LogFields } from '../systemd/fields.js';

interface InhibitLogger {
  warning(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
}

export class ShutdownInhibitor {
  private child: ChildProcess | null = null;
  private warned = false;

  constructor(
    private readonly logger: InhibitLogger,
    private readonly command = 'systemd-inhibit',
  ) {}

  get held(): boolean {
    return this.child !== null;
  }

  /** Takes the inhibitor (once; a second call while held does nothing). */
  hold(why: string): void {
    if (this.child) return;
    const args = [
      '--what=shutdown',
      '--mode=delay',
      '--who=bound-imaged',
      `--why=${why.slice(0, 200)}`,
      'cat',
    ];
    const child = spawn(this.command, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-1000)));
    child.stdin?.on('error', () => undefined);
    const failed = (how: string): void => {
      if (this.child === child) this.child = null;
      if (this.warned) return;
      this.warned = true;
      this.logger.warning(`cannot take a logind delay inhibitor for shutdown: ${how}`, { WHY: why });
    };
    child.once('error', (err) => failed(`${this.command}: ${err.message}`));
    child.once('exit', (code, signal) => {
      if (this.child !== child) return; // released
      failed(
        `${this.command} ended (${signal ?? `exit status ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`,
      );
    });
    this.logger.info(`holding a logind delay inhibitor for shutdown: ${why}`, { WHY: why });
  }

  /** Lets logind go on with a shutdown. Idempotent. */
  release(): void {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.stdin?.end();
    // cat ends on EOF; if the pipe is somehow stuck, do not leave it behind.
    const kill = setTimeout(() => child.kill('SIGTERM'), 2000);
    kill.unref();
    child.once('exit', () => clearTimeout(kill));
  }
}

/** Calls `onShutdown` when logind announces a shutdown (PrepareForShutdown(true)). */
export interface ShutdownWatch {
  /** logind's InhibitDelayMaxUSec (µs), 0 when it could not be read. */
  readonly delayMaxUsec: number;
  stop(): void;
}

export async function watchShutdown(onShutdown: () => void): Promise<ShutdownWatch> {
  const bus = dbus.systemBus();
  try {
    const obj = await bus.getProxyObject('org.freedesktop.login1', '/org/freedesktop/login1');
    const manager = obj.getInterface('org.freedesktop.login1.Manager');
    const props = obj.getInterface('org.freedesktop.DBus.Properties');
    let delayMaxUsec = 0;
    try {
      const v = (await props.Get?.('org.freedesktop.login1.Manager', 'InhibitDelayMaxUSec')) as
        { value: unknown } | undefined;
      delayMaxUsec = Number(v?.value ?? 0);
    } catch {
      // an older logind: the limit stays unknown
    }
    manager.on('PrepareForShutdown', (starting: boolean) => {
      if (starting) onShutdown();
    });
    return {
      delayMaxUsec,
      stop: () => bus.disconnect(),
    };
  } catch (err) {
    bus.disconnect();
    throw err;
  }
}
