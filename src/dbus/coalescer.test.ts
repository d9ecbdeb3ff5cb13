import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChangeCoalescer } from './coalescer.js';

describe('ChangeCoalescer', () => {
  let flushed: string[][];
  let c: ChangeCoalescer<string>;
  beforeEach(() => {
    vi.useFakeTimers();
    flushed = [];
    c = new ChangeCoalescer(
      (names) => flushed.push(names.sort()),
      250,
      () => Date.now(),
    );
  });
  afterEach(() => {
    c.dispose();
    vi.useRealTimers();
  });

  it('sends the first change at once', () => {
    c.mark(['Progress'], false);
    expect(flushed).toEqual([['Progress']]);
  });

  it('sends a burst of progress updates at most once per interval', () => {
    for (let i = 0; i < 1000; i++) {
      c.mark(['Progress'], false);
      vi.advanceTimersByTime(1);
    }
    // 1000 ms of updates every millisecond: the first at once, then one per 250 ms.
    expect(flushed.length).toBeGreaterThanOrEqual(4);
    expect(flushed.length).toBeLessThanOrEqual(5);
  });

  it('sends the last pending change after the interval, not never', () => {
    c.mark(['Progress'], false);
    c.mark(['Progress'], false);
    expect(flushed.length).toBe(1);
    vi.advanceTimersByTime(250);
    expect(flushed).toEqual([['Progress'], ['Progress']]);
  });

  it('sends an urgent change at once, together with what was pending', () => {
    c.mark(['Progress'], false);
    c.mark(['Progress'], false);
    c.mark(['State'], true);
    expect(flushed).toEqual([['Progress'], ['Progress', 'State']]);
    vi.advanceTimersByTime(1000);
    expect(flushed.length).toBe(2);
  });

  it('sends nothing after dispose', () => {
    c.mark(['Progress'], false);
    c.mark(['Progress'], false);
    c.dispose();
    vi.advanceTimersByTime(1000);
    expect(flushed.length).toBe(1);
  });
});
