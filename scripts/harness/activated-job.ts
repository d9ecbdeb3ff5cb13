// One no-op job of a daemon that D-Bus activation starts for it, as on a host where the daemon exits
// when idle and the timer's call meets no running process: the caller sends Upgrade to the name, the
// private bus (startPrivateBus's `activate`) runs the daemon and holds the call until the name is
// taken, and the caller polls the job's State in process (no busctl started per poll). Timed from
// sending the call to seeing the job end; then the daemon is stopped so the next call activates a new
// one. Used by bench-pull's `noop-100-activated`.
import dbus from 'dbus-next';
import { connectBus, type BusConnection } from '../../src/contract/connect-bus.js';
import {
  BUS_NAME,
  JOB_INTERFACE,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  PROPERTIES_INTERFACE,
} from '../../src/contract/index.js';
import type { PrivateBus } from './dbus-daemon.js';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ActivatedCaller {
  /** ms from sending Upgrade (no daemon running) to the job's final state; throws unless `success`. */
  noopJob(): Promise<number>;
  close(): void;
}

async function call(
  conn: BusConnection,
  msg: ConstructorParameters<typeof dbus.Message>[0],
): Promise<unknown[]> {
  const reply = await conn.bus.call(new dbus.Message(msg));
  return (reply?.body ?? []) as unknown[];
}

function variantValue(v: unknown): unknown {
  return v instanceof dbus.Variant ? (v.value as unknown) : v;
}

export async function activatedCaller(bus: PrivateBus): Promise<ActivatedCaller> {
  const conn = await connectBus({ address: bus.address });
  const dbusCall = (member: string, signature?: string, body?: unknown[]) =>
    call(conn, {
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member,
      ...(signature ? { signature, body } : {}),
    });
  const hasOwner = async (): Promise<boolean> =>
    (await dbusCall('NameHasOwner', 's', [BUS_NAME]))[0] === true;

  /** Stops the daemon that owns the name and waits until the name is free. */
  const stopDaemon = async (): Promise<void> => {
    const [pid] = await dbusCall('GetConnectionUnixProcessID', 's', [BUS_NAME]).catch(() => [undefined]);
    if (typeof pid === 'number') process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 2000 && (await hasOwner()); i++) await sleep(5);
    if (await hasOwner()) throw new Error(`${BUS_NAME} still owned 10 s after SIGTERM to ${String(pid)}`);
    // Gone and reaped: its CPU time is then its parent's (the bus's) children's time.
    for (let i = 0; typeof pid === 'number' && i < 2000 && alive(pid); i++) await sleep(5);
  };

  return {
    async noopJob() {
      if (await hasOwner())
        throw new Error(`${BUS_NAME} is already owned: the job would not activate a daemon`);
      const t0 = nowMs();
      try {
        const [path] = await call(conn, {
          destination: BUS_NAME,
          path: MANAGER_PATH,
          interface: MANAGER_INTERFACE,
          member: 'Upgrade',
          signature: 'a{sv}',
          body: [{}],
        });
        if (typeof path !== 'string')
          throw new Error(`Upgrade answered ${JSON.stringify(path)}, not a job path`);
        for (;;) {
          const [state] = await call(conn, {
            destination: BUS_NAME,
            path,
            interface: PROPERTIES_INTERFACE,
            member: 'Get',
            signature: 'ss',
            body: [JOB_INTERFACE, 'State'],
          });
          const value = variantValue(state);
          if (value !== 'running') {
            const ms = nowMs() - t0;
            if (value !== 'success')
              throw new Error(`the activated daemon's no-op job ended ${String(value)}`);
            return ms;
          }
          await sleep(5);
        }
      } finally {
        await stopDaemon();
      }
    },
    close: () => conn.close(),
  };
}
