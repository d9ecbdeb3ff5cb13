import { describe, expect, it } from 'vitest';
import { createNotifier, statusLine, watchdogIntervalMs } from './notify.js';

describe('watchdogIntervalMs', () => {
  const pid = 4242;
  it('is half of WATCHDOG_USEC, in ms', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '400000' }, pid)).toBe(200);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, pid)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '1000' }, pid)).toBe(1); // 0.5 ms rounds up to the timer's floor
  });

  it('applies only when WATCHDOG_PID is unset or ours', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '4242' }, pid)).toBe(200);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '1' }, pid)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: '' }, pid)).toBe(200);
  });

  it.each([undefined, '', '0', '-5', 'abc', '1e6', '12.5'])('is off for WATCHDOG_USEC=%j', (usec) => {
    expect(watchdogIntervalMs(usec === undefined ? {} : { WATCHDOG_USEC: usec }, pid)).toBeUndefined();
  });

  it('uses the current pid by default', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) })).toBe(200);
    expect(
      watchdogIntervalMs({ WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid + 1) }),
    ).toBeUndefined();
  });
});

describe('statusLine', () => {
  it('keeps STATUS= to one line, so it cannot inject READY=1 or another assignment', () => {
    expect(statusLine('pulling 2/5\nREADY=1')).toBe('pulling 2/5 READY=1');
    expect(statusLine('  a\r\n\tb  ')).toBe('a b');
  });
  it('redacts credentials', () => {
    expect(statusLine('pulling https://bob:s3cret@r.example/a:1')).toBe('pulling https://***@r.example/a:1');
  });
});

describe('createNotifier without NOTIFY_SOCKET', () => {
  it('is disabled, never loads the native binding, and every call is a no-op', () => {
    const notifier = createNotifier(
      { WATCHDOG_USEC: '400000' },
      {
        load: () => {
          throw new Error('the binding must not be loaded');
        },
      },
    );
    expect(notifier.enabled).toBe(false);
    expect(notifier.watchdogIntervalMs).toBeUndefined();
    notifier.ready();
    notifier.status('x');
    notifier.startWatchdog();
    notifier.stopWatchdog();
    notifier.stopping();
  });

  it('refuses an env whose NOTIFY_SOCKET libsystemd would not see', () => {
    const other = `${process.env.NOTIFY_SOCKET ?? ''}/elsewhere.sock`;
    expect(() => createNotifier({ NOTIFY_SOCKET: other })).toThrow(/differs from the process environment/);
  });
});
