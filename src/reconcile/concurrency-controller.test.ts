// The adaptive concurrency controller, driven by a small deterministic simulation of a pool: pulls
// share a resource that serves `capacity` of them at full speed (processor sharing beyond that), so a
// WAN link that scales is a large capacity and a store that applies layers one at a time is 1.
import { describe, expect, it } from 'vitest';
import { ConcurrencyController, type LevelChange, type PullTicket } from './concurrency-controller.js';

interface SimOptions {
  images: number;
  max: number;
  /** Pulls served at full speed at once (Infinity: the link scales). */
  capacity: number;
  /** ms one pull takes alone. */
  work?: number;
  /** Indexes of pulls whose first attempt meets a transient failure halfway. */
  transientAt?: ReadonlySet<number>;
  /** Indexes of pulls that fail for good. */
  failAt?: ReadonlySet<number>;
}

interface Running {
  index: number;
  left: number;
  ticket: PullTicket;
  transientPending: boolean;
  half: number;
}

/** Runs `images` pulls as the pool would, obeying the controller's level; returns what happened. */
function simulate(o: SimOptions): {
  controller: ConcurrencyController;
  changes: LevelChange[];
  maxInFlight: number;
  elapsed: number;
} {
  const work = o.work ?? 800;
  const c = new ConcurrencyController({ max: o.max, total: o.images });
  const changes: LevelChange[] = [];
  const note = (x: LevelChange | null): void => {
    if (x) changes.push(x);
  };
  let now = 0;
  let next = 0;
  let maxInFlight = 0;
  const running: Running[] = [];
  const fill = (): void => {
    while (running.length < c.level && next < o.images) {
      const index = next++;
      running.push({
        index,
        left: work,
        ticket: c.started(now),
        transientPending: o.transientAt?.has(index) ?? false,
        half: work / 2,
      });
    }
    maxInFlight = Math.max(maxInFlight, running.length);
  };
  fill();
  while (running.length > 0) {
    const rate = Math.min(1, o.capacity / running.length);
    const step = Math.min(...running.map((r) => (r.transientPending ? r.left - r.half : r.left) / rate));
    now += step;
    for (const r of running) r.left -= step * rate;
    for (const r of [...running]) {
      if (r.transientPending && r.left - r.half <= 1e-9) {
        r.transientPending = false;
        note(c.transient(r.ticket, now));
        r.left = work; // the retry starts over
        continue;
      }
      if (r.left <= 1e-9) {
        running.splice(running.indexOf(r), 1);
        note(o.failAt?.has(r.index) ? c.failed(r.ticket) : c.succeeded(r.ticket, now));
      }
    }
    fill();
    expect(c.level).toBeLessThanOrEqual(o.max);
  }
  return { controller: c, changes, maxInFlight, elapsed: now };
}

describe('ConcurrencyController', () => {
  it('grows by doubling on a link that scales, up to max-concurrency', () => {
    const { controller, changes, maxInFlight } = simulate({ images: 60, max: 16, capacity: Infinity });
    expect(controller.summary().levels).toEqual([2, 4, 8, 16]);
    expect(changes.every((x) => x.reason === 'grow')).toBe(true);
    expect(controller.level).toBe(16);
    expect(maxInFlight).toBe(16);
    // Each doubling doubled the estimate (Little's law on equal latencies).
    const t = controller.summary().throughput;
    expect((t.get(4) ?? 0) / (t.get(2) ?? 1)).toBeCloseTo(2, 5);
  });

  it('goes back and holds on a store that serializes', () => {
    const { controller, changes } = simulate({ images: 40, max: 16, capacity: 1 });
    expect(controller.summary().levels).toEqual([2, 4, 2]);
    expect(changes.at(-1)).toMatchObject({ from: 4, to: 2, reason: 'back' });
    expect(controller.held).toBe(true);
    expect(controller.level).toBe(2);
  });

  it('stops where the link stops scaling', () => {
    // 6 served at full speed: 2 → 4 doubles the throughput, 4 → 8 gives +50 % (6 against 4: kept),
    // 8 → 16 gives nothing: back to 8.
    const { controller } = simulate({ images: 80, max: 32, capacity: 6 });
    expect(controller.summary().levels).toEqual([2, 4, 8, 16, 8]);
    expect(controller.summary().highest).toBe(16);
    expect(controller.summary().settled).toBe(8);
  });

  it('halves on a transient failure and holds', () => {
    // Pull 20 starts once the level is 8 (2 + 4 + … rounds done); its failure cuts to 4.
    const { controller, changes } = simulate({
      images: 60,
      max: 16,
      capacity: Infinity,
      transientAt: new Set([20]),
    });
    const cut = changes.find((x) => x.reason === 'transient');
    expect(cut).toBeDefined();
    expect(cut?.to).toBe(Math.floor((cut?.from ?? 0) / 2));
    expect(controller.held).toBe(true);
    expect(changes.at(-1)).toBe(cut);
  });

  it('cuts once for failures of pulls that started before the cut', () => {
    const c = new ConcurrencyController({ max: 16, total: 10, start: 8 });
    const tickets = Array.from({ length: 8 }, () => c.started(0));
    expect(c.transient(tickets[0] as PullTicket, 10)).toMatchObject({ from: 8, to: 4 });
    expect(c.transient(tickets[1] as PullTicket, 11)).toBeNull();
    expect(c.level).toBe(4);
    const later = c.started(12);
    expect(c.transient(later, 20)).toMatchObject({ from: 4, to: 2 });
    expect(c.transient(c.started(21), 22)).toMatchObject({ from: 2, to: 1 });
    expect(c.transient(c.started(23), 24)).toBeNull(); // never below 1
    expect(c.level).toBe(1);
  });

  it('never exceeds max-concurrency', () => {
    for (const max of [1, 2, 3, 5, 8]) {
      const { controller, maxInFlight } = simulate({ images: 50, max, capacity: Infinity });
      expect(controller.summary().highest).toBeLessThanOrEqual(max);
      expect(maxInFlight).toBeLessThanOrEqual(max);
    }
    expect(new ConcurrencyController({ max: 1, total: 10 }).level).toBe(1);
  });

  it('never exceeds the images left', () => {
    expect(new ConcurrencyController({ max: 16, total: 1 }).level).toBe(1);
    // 7 images: 2 succeed at level 2 (5 left, 4 ≤ 5: grows to 4); 4 more then leave 1: stays at 4.
    const { controller } = simulate({ images: 7, max: 16, capacity: Infinity });
    expect(controller.summary().levels).toEqual([2, 4]);
    const c = new ConcurrencyController({ max: 16, total: 5, start: 4 });
    const t = [c.started(0), c.started(0), c.started(0), c.started(0)];
    for (const x of t.slice(0, 3)) expect(c.succeeded(x, 100)).toBeNull();
    expect(c.succeeded(t[3] as PullTicket, 100)).toBeNull(); // 1 left: no growth
    expect(c.level).toBe(4);
  });

  it('does not count failed pulls or pulls from an earlier level as samples', () => {
    const c = new ConcurrencyController({ max: 16, total: 20 });
    const a = c.started(0);
    const b = c.started(0);
    expect(c.failed(a)).toBeNull(); // no sample
    const d = c.started(10);
    expect(c.succeeded(b, 100)).toBeNull(); // one sample of two
    expect(c.succeeded(d, 110)).toMatchObject({ from: 2, to: 4, reason: 'grow' });
    // A pull started at level 2 that ends now says nothing about level 4.
    const stale = { level: 2, startedAt: 0, transient: false };
    for (let i = 0; i < 4; i++) expect(c.succeeded(stale, 120)).toBeNull();
    expect(c.summary().throughput.get(4)).toBeUndefined();
    expect(c.level).toBe(4);
  });
});
