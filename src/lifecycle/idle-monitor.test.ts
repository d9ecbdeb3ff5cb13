import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleMonitor } from './idle-monitor.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function monitor(idleMs: number, busy = () => false) {
  const onIdle = vi.fn();
  const m = new IdleMonitor({ idleMs, busy, onIdle });
  return { m, onIdle };
}

describe('IdleMonitor', () => {
  it('calls onIdle once after idleMs without activity', () => {
    const { m, onIdle } = monitor(60_000);
    m.start();
    vi.advanceTimersByTime(59_999);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(600_000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('never with idleMs 0', () => {
    const { m, onIdle } = monitor(0);
    m.start();
    vi.advanceTimersByTime(10_000_000);
    expect(onIdle).not.toHaveBeenCalled();
  });

  it('each call starts the wait over; a call being answered holds it', () => {
    const { m, onIdle } = monitor(1000);
    m.start();
    vi.advanceTimersByTime(900);
    m.touch();
    vi.advanceTimersByTime(900);
    const done = m.callStarted();
    expect(m.pendingCalls).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(onIdle).not.toHaveBeenCalled();
    done();
    done(); // twice is once
    expect(m.pendingCalls).toBe(0);
    vi.advanceTimersByTime(999);
    expect(onIdle).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('stays while busy (a job, work due soon), and counts from when it stopped being busy', () => {
    let busy = true;
    const { m, onIdle } = monitor(1000, () => busy);
    m.start();
    vi.advanceTimersByTime(10_000);
    expect(onIdle).not.toHaveBeenCalled();
    busy = false;
    m.touch();
    vi.advanceTimersByTime(1000);
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('a busy state that appears without a check() still prevents the exit', () => {
    let busy = false;
    const { m, onIdle } = monitor(1000, () => busy);
    m.start();
    busy = true;
    vi.advanceTimersByTime(5000);
    expect(onIdle).not.toHaveBeenCalled();
  });

  it('resume() watches again after an abandoned exit; stop() ends watching', () => {
    const { m, onIdle } = monitor(1000);
    m.start();
    vi.advanceTimersByTime(1000);
    m.resume();
    vi.advanceTimersByTime(1000);
    expect(onIdle).toHaveBeenCalledTimes(2);
    m.resume();
    m.stop();
    vi.advanceTimersByTime(5000);
    expect(onIdle).toHaveBeenCalledTimes(2);
  });
});
