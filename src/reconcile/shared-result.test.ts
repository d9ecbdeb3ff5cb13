import { describe, expect, it } from 'vitest';
import { SharedResult, SharedResultBusyError } from './shared-result.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A computation the test finishes by hand; counts its starts. */
function manual() {
  const runs: Array<ReturnType<typeof deferred<number>>> = [];
  return {
    runs,
    compute: () => {
      const d = deferred<number>();
      runs.push(d);
      return d.promise;
    },
  };
}

describe('SharedResult', () => {
  it('runs one computation for 200 concurrent callers and gives each the same result', async () => {
    const m = manual();
    const shared = new SharedResult(m.compute, { maxAgeMs: 0, maxWaiting: 1000 });
    const calls = Array.from({ length: 200 }, () => shared.get());
    await Promise.resolve();
    expect(shared.pending).toBe(200);
    m.runs[0]?.resolve(42);
    expect(await Promise.all(calls)).toEqual(Array(200).fill(42));
    expect(shared.computed).toBe(1);
    expect(shared.pending).toBe(0);
  });

  it('serves a result while it is fresh, counted from the start of its computation', async () => {
    let now = 1000;
    let n = 0;
    const shared = new SharedResult(async () => ++n, { maxAgeMs: 2000, maxWaiting: 10, now: () => now });
    expect(await shared.get()).toBe(1);
    now += 1999;
    expect(await shared.get()).toBe(1);
    now += 1;
    expect(await shared.get()).toBe(2);
    expect(shared.computed).toBe(2);
  });

  it('after invalidate(), a caller never joins a computation that started before', async () => {
    const m = manual();
    const shared = new SharedResult(m.compute, { maxAgeMs: 60_000, maxWaiting: 10 });
    const early = shared.get();
    shared.invalidate();
    const late = shared.get();
    await Promise.resolve();
    expect(m.runs.length).toBe(2);
    m.runs[0]?.resolve(1);
    m.runs[1]?.resolve(2);
    expect(await early).toBe(1);
    expect(await late).toBe(2);
    // The newer result is the one served again.
    expect(await shared.get()).toBe(2);
  });

  it('shares a failure with those who waited for it, and computes again for the next caller', async () => {
    const m = manual();
    const shared = new SharedResult(m.compute, { maxAgeMs: 60_000, maxWaiting: 10 });
    const a = shared.get();
    const b = shared.get();
    m.runs[0]?.reject(new Error('socket gone'));
    await expect(a).rejects.toThrow('socket gone');
    await expect(b).rejects.toThrow('socket gone');
    const c = shared.get();
    await Promise.resolve();
    m.runs[1]?.resolve(7);
    expect(await c).toBe(7);
    expect(shared.computed).toBe(2);
  });

  it('refuses callers beyond maxWaiting while a computation runs, and serves them again after', async () => {
    const m = manual();
    const shared = new SharedResult(m.compute, { maxAgeMs: 60_000, maxWaiting: 3 });
    const waiting = [shared.get(), shared.get(), shared.get()];
    await expect(shared.get()).rejects.toBeInstanceOf(SharedResultBusyError);
    await expect(shared.get()).rejects.toThrow('too many callers are waiting for this answer (3)');
    m.runs[0]?.resolve(5);
    expect(await Promise.all(waiting)).toEqual([5, 5, 5]);
    // A fresh result is served without waiting: no limit applies.
    expect(await Promise.all(Array.from({ length: 10 }, () => shared.get()))).toEqual(Array(10).fill(5));
    expect(shared.computed).toBe(1);
  });
});
