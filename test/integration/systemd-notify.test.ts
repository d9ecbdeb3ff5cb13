// src/systemd/notify.ts against a real NOTIFY_SOCKET (an AF_UNIX datagram socket, scripts/harness/notify-listener.ts):
// libsystemd, through the native sd-notify binding, sends to a plain filesystem path, in order, from our pid.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyListener } from '../../scripts/harness/notify-listener.js';
import { startNotifyListener } from '../../scripts/harness/notify-listener.js';
import type { Notifier } from '../../src/systemd/notify.js';
import { createNotifier } from '../../src/systemd/notify.js';

let listener: NotifyListener;
let notifier: Notifier | undefined;
const saved = process.env.NOTIFY_SOCKET;

beforeAll(async () => {
  listener = await startNotifyListener();
  // libsystemd reads NOTIFY_SOCKET from the real process environment.
  process.env.NOTIFY_SOCKET = listener.path;
});

afterEach(() => notifier?.stopWatchdog());

afterAll(async () => {
  if (saved === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = saved;
  await listener?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const countOf = (messages: string[][], line: string): number =>
  messages.filter((m) => m.includes(line)).length;

describe('createNotifier with NOTIFY_SOCKET set', () => {
  it('sends READY=1, STATUS=…, WATCHDOG=1 every half WATCHDOG_USEC, STOPPING=1, in order, from this process', async () => {
    const env = { ...process.env, WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) };
    notifier = createNotifier(env);
    expect(notifier.enabled).toBe(true);
    expect(notifier.watchdogIntervalMs).toBe(200);
    const before = listener.messages().length;

    notifier.ready();
    notifier.status('pulling 1/3 https://bob:s3cret@r.example/a:1\nREADY=1');
    notifier.startWatchdog();
    notifier.startWatchdog(); // idempotent: still one timer
    await listener.waitFor((all) => countOf(all.slice(before), 'WATCHDOG=1') >= 3, 5_000);
    notifier.stopWatchdog();
    notifier.stopping();
    await listener.waitFor((all) => all.slice(before).some((m) => m.includes('STOPPING=1')));

    const ours = listener.datagrams().slice(before);
    expect(ours.every((d) => d.pid === process.pid)).toBe(true);
    const kinds = ours.map((d) => d.lines.join('|'));
    expect(kinds[0]).toBe('READY=1');
    // One line (no injected READY=1), credentials redacted.
    expect(kinds[1]).toBe('STATUS=pulling 1/3 https://***@r.example/a:1 READY=1');
    expect(kinds.at(-1)).toBe('STOPPING=1');
    const pings = ours.filter((d) => d.lines.join() === 'WATCHDOG=1');
    expect(kinds.slice(2, -1).every((k) => k === 'WATCHDOG=1')).toBe(true);
    expect(pings.length).toBeGreaterThanOrEqual(3);
    // The first ping goes out at start; then one per 200 ms: never early, and well inside the 400 ms watchdog.
    const gaps = pings.slice(1).map((p, i) => p.receivedAtMs - pings[i]!.receivedAtMs);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(190);
      expect(gap).toBeLessThan(400);
    }
  });

  it('ready(status) sends READY=1 and the one-line STATUS= in one datagram', async () => {
    notifier = createNotifier(process.env);
    const before = listener.messages().length;
    notifier.ready('idle, last reconcile: cancelled\nWATCHDOG=1');
    await listener.waitFor((all) => all.length > before);
    await sleep(100);
    expect(listener.messages().slice(before)).toEqual([
      ['READY=1', 'STATUS=idle, last reconcile: cancelled WATCHDOG=1'],
    ]);
  });

  it('stops pinging after stopWatchdog()', async () => {
    notifier = createNotifier({ ...process.env, WATCHDOG_USEC: '100000' });
    notifier.startWatchdog();
    await listener.waitFor((all) => all.length > 0 && all.at(-1)!.includes('WATCHDOG=1'));
    notifier.stopWatchdog();
    await sleep(60);
    const after = listener.messages().length;
    await sleep(300);
    expect(listener.messages().length).toBe(after);
  });

  it('sends no WATCHDOG=1 when WATCHDOG_PID names another process', async () => {
    notifier = createNotifier({
      ...process.env,
      WATCHDOG_USEC: '100000',
      WATCHDOG_PID: String(process.pid + 1),
    });
    expect(notifier.watchdogIntervalMs).toBeUndefined();
    const before = listener.messages().length;
    notifier.startWatchdog();
    notifier.status('idle');
    await listener.waitFor((all) => all.length > before);
    await sleep(300);
    expect(listener.messages().slice(before)).toEqual([['STATUS=idle']]);
  });

  it('sends nothing when the env has no NOTIFY_SOCKET', async () => {
    const { NOTIFY_SOCKET: _unset, ...env } = process.env;
    notifier = createNotifier({ ...env, WATCHDOG_USEC: '100000' });
    expect(notifier.enabled).toBe(false);
    const before = listener.messages().length;
    notifier.ready();
    notifier.status('x');
    notifier.startWatchdog();
    notifier.stopping();
    await sleep(300);
    expect(listener.messages().length).toBe(before);
  });
});
