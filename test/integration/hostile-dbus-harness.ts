// Helpers for the hostile D-Bus tests: send any message (any signature, any body) and get back the
// D-Bus error it earned, check that the error is "clear" (an expected name, a readable and short
// text), check the daemon still answers, and run a dbus-next client as an unprivileged user.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { expect } from 'vitest';
import type { PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { BUS_NAME, MANAGER_IFACE, MANAGER_PATH, NOBODY, REPO, type DaemonProcess } from './daemon-harness.js';
import { PROPERTIES_INTERFACE } from '../../src/contract/index.js';

export const PROPS = PROPERTIES_INTERFACE;
export const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
export const MiB = 1024 * 1024;

export const E = {
  invalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  accessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  readOnly: 'org.freedesktop.DBus.Error.PropertyReadOnly',
  unknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
  unknownObject: 'org.freedesktop.DBus.Error.UnknownObject',
  unknownInterface: 'org.freedesktop.DBus.Error.UnknownInterface',
  unknownProperty: 'org.freedesktop.DBus.Error.UnknownProperty',
  jobFinished: 'org.bootc.BoundImages.Error.JobFinished',
} as const;

/** Any of the standard names: for calls that are nonsense at the D-Bus level. */
export const CLEAR_ERRORS: readonly string[] = Object.values(E);

export const variant = (signature: string, value: unknown): dbus.Variant =>
  new dbus.Variant(signature, value);

export interface Refused {
  type: string;
  text: string;
}

/** One method call: object path, interface (undefined: none in the header), member, signature, body. */
export type CallSpec = [
  path: string,
  iface: string | undefined,
  member: string,
  sig: string,
  body: unknown[],
];

/** Makes the call and returns the D-Bus error it got; throws when the call was answered. */
export async function refused(client: dbus.MessageBus, [path, iface, member, sig, body]: CallSpec) {
  let reply: dbus.Message | null;
  try {
    reply = await client.call(
      new dbus.Message({
        destination: BUS_NAME,
        path,
        ...(iface ? { interface: iface } : {}),
        member,
        signature: sig,
        body,
      }),
    );
  } catch (err) {
    const e = err as { type?: unknown; text?: unknown };
    if (typeof e.type !== 'string') throw err;
    return { type: e.type, text: typeof e.text === 'string' ? e.text : '' } satisfies Refused;
  }
  throw new Error(`${iface ?? ''}.${member}(${sig}) on ${path} was answered: ${JSON.stringify(reply?.body)}`);
}

/** The error has one of `names`, a readable text (matching `text`), and does not echo input at length. */
export function expectClear(r: Refused, names: readonly string[], text?: RegExp): void {
  expect(names, `${r.type}: ${r.text.slice(0, 300)}`).toContain(r.type);
  expect(r.text.length).toBeGreaterThan(10);
  expect(r.text.length, `${r.text.slice(0, 120)}…`).toBeLessThan(1000);
  if (text) expect(r.text).toMatch(text);
}

/** The daemon is alive and answers a property read. */
export async function expectAnswersRead(client: dbus.MessageBus, daemon: DaemonProcess): Promise<void> {
  expect(daemon.hasExited(), daemon.stderr()).toBe(false);
  const reply = await client.call(
    new dbus.Message({
      destination: BUS_NAME,
      path: MANAGER_PATH,
      interface: PROPS,
      member: 'Get',
      signature: 'ss',
      body: [MANAGER_IFACE, 'Version'],
    }),
  );
  expect(reply?.signature).toBe('v');
}

/** A call a non-root client makes; `a{sv}` options as [key, variant signature, value]. */
export interface NobodyCall {
  path: string;
  iface: string;
  member: string;
  signature: '' | 'a{sv}';
  options?: [string, string, unknown][];
}

/** Runs a dbus-next client as UID 65534 (setpriv); each call's outcome is `ok` or `ErrorName: text`. */
export function callsAsNobody(bus: PrivateBus, calls: NobodyCall[]): Promise<string[]> {
  const script = `
    const dbus = (await import(${JSON.stringify(join(REPO, 'node_modules/dbus-next/index.js'))})).default;
    const calls = JSON.parse(process.argv[1]);
    const bus = dbus.sessionBus({ busAddress: ${JSON.stringify(bus.address)} });
    const out = [];
    for (const c of calls) {
      const body = c.signature === 'a{sv}'
        ? [Object.fromEntries((c.options ?? []).map(([k, s, x]) => [k, new dbus.Variant(s, x)]))]
        : [];
      try {
        await bus.call(new dbus.Message({ destination: ${JSON.stringify(BUS_NAME)}, path: c.path,
          interface: c.iface, member: c.member, signature: c.signature, body }));
        out.push('ok');
      } catch (e) { out.push(e.type + ': ' + e.text); }
    }
    console.log(JSON.stringify(out));
    bus.disconnect();`;
  const argv = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath];
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      [...argv, '--input-type=module', '-e', script, JSON.stringify(calls)],
      { timeout: 60_000, maxBuffer: 16 * MiB },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as string[]),
    );
  });
}
