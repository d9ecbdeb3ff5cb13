// Hands pending work to systemd before an idle exit: a transient timer, bound-imaged.timer, made with
// org.freedesktop.systemd1.Manager.StartTransientUnit, that starts bound-imaged.service (the timer's
// namesake) at the time the work is due; the daemon then finds the work in pending-work.json and does
// it. The timer unloads itself once it has fired (RemainAfterElapse=no), is not persistent (after a
// reboot the reconcile timer's OnBootSec= comes first anyway), and a daemon that starts for another
// reason stops a leftover one: its own schedule has taken over. `systemctl list-timers` shows it.
import dbus from 'dbus-next';
import { messageOf } from '../errors.js';

export const WAKE_TIMER_UNIT = 'bound-imaged.timer';
const SYSTEMD = 'org.freedesktop.systemd1';
const SYSTEMD_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const CALL_TIMEOUT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${CALL_TIMEOUT_MS / 1000} s`)),
      CALL_TIMEOUT_MS,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** systemd's errors are worth reading whole (`UnitExists: Unit bound-imaged.timer already exists.`). */
function describe(err: unknown): string {
  return err instanceof dbus.DBusError ? `${err.type}: ${err.text}` : messageOf(err);
}

/** `2026-12-02 09:30:05 UTC`: an OnCalendar= spec for one instant (rounded up to the second). */
export function calendarSpec(dueAtMs: number): string {
  const d = new Date(Math.ceil(dueAtMs / 1000) * 1000);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function call(
  bus: dbus.MessageBus,
  member: string,
  signature: string,
  body: unknown[],
): Promise<dbus.Message | null> {
  return withTimeout(
    bus.call(
      new dbus.Message({
        destination: SYSTEMD,
        path: SYSTEMD_PATH,
        interface: MANAGER,
        member,
        signature,
        body,
      }),
    ),
    `systemd ${member}`,
  );
}

/** Stops (and so unloads) a wake timer left from an earlier idle exit; no such unit is fine. */
export async function disarmWakeTimer(bus: dbus.MessageBus): Promise<boolean> {
  try {
    await call(bus, 'StopUnit', 'ss', [WAKE_TIMER_UNIT, 'replace']);
    return true;
  } catch (err) {
    if (err instanceof dbus.DBusError && err.type === 'org.freedesktop.systemd1.NoSuchUnit') return false;
    throw new Error(`cannot stop ${WAKE_TIMER_UNIT}: ${describe(err)}`);
  }
}

/** Creates bound-imaged.timer firing at `dueAtMs`; replaces one left from before. Throws on failure. */
export async function armWakeTimer(bus: dbus.MessageBus, dueAtMs: number, reason: string): Promise<string> {
  const spec = calendarSpec(Math.max(dueAtMs, Date.now() + 1000));
  const properties = [
    ['Description', new dbus.Variant('s', `Start bound-imaged for pending work: ${reason}`.slice(0, 200))],
    ['OnCalendar', new dbus.Variant('s', spec)],
    ['AccuracyUSec', new dbus.Variant('t', 1_000_000)],
    ['RemainAfterElapse', new dbus.Variant('b', false)],
  ];
  for (let attempt = 0; ; attempt++) {
    try {
      await call(bus, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [WAKE_TIMER_UNIT, 'replace', properties, []]);
      return spec;
    } catch (err) {
      const exists = err instanceof dbus.DBusError && err.type === 'org.freedesktop.systemd1.UnitExists';
      if (!exists || attempt >= 3)
        throw new Error(`cannot create ${WAKE_TIMER_UNIT} for ${spec}: ${describe(err)}`);
      await disarmWakeTimer(bus);
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
}
