// The adaptive concurrency controller, driven by a small deterministic simulation of a pool: pulls
// share a resource that serves `capacity` of them at full speed (processor sharing beyond that), so a
// WAN link that scales is a large capacity and a store that applies layers one at a time is 1; a
// `penalty` beyond capacity models a registry that slows down when asked too much at once.
import { describe, expect, it } from 'vitest';
import { ConcurrencyController, type LevelChange, type PullTicket } from './concurrency-controller.js';

interface SimOptions {
  images: number;
  max: number;
  /** The controller's first level; default its own. */
  start?: number;
  /** Pulls served at full speed at once (Infinity: the link scales). */
  capacity: number;
  /** Factor on the speed of every pull while more than `capacity` run (default 1). */
  penalty?: number;
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
  const c = new ConcurrencyController({
    max: o.max,
    total: o.images,
    ...(o.start !== undefined ? { start: o.start } : {}),
  });
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
    const over = running.length > o.capacity;
    const rate = Math.min(1, o.capacity / running.length) * (over ? (o.penalty ?? 1) : 1);
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
  it('starts at 4 and grows by doubling on a link that scales, up to max-concurrency', () => {
    const { controller, changes, maxInFlight } = simulate({ images: 60, max: 16, capacity: Infinity });
    expect(controller.summary().levels).toEqual([4, 8, 16]);
    expect(changes.map((x) => x.reason)).toEqual(['grow', 'grow', 'hold']); // the last: at the cap
    expect(controller.level).toBe(16);
    expect(controller.held).toBe(true); // at the cap
    expect(maxInFlight).toBe(16);
    // Each doubling doubled the estimate (Little's law on equal latencies).
    const t = controller.summary().throughput;
    expect((t.get(8) ?? 0) / (t.get(4) ?? 1)).toBeCloseTo(2, 5);
  });

  it('from 2, the same link: 2 → 4 → 8 → 16', () => {
    const { controller } = simulate({ images: 60, max: 16, capacity: Infinity, start: 2 });
    expect(controller.summary().levels).toEqual([2, 4, 8, 16]);
  });

  it('holds on a store that serializes: the doubling after the first does not pay', () => {
    for (const start of [2, 4]) {
      const { controller, changes } = simulate({ images: 40, max: 16, capacity: 1, start });
      expect(controller.summary().levels).toEqual([start, 2 * start]);
      expect(changes.at(-1)).toMatchObject({ from: 2 * start, to: 2 * start, reason: 'hold' });
      expect(controller.held).toBe(true);
    }
  });

  it('goes back when the doubling made things worse', () => {
    // Beyond 4 at once the registry slows every pull to 60 %: 8 gives 40 % less than 4.
    const { controller, changes } = simulate({
      images: 60,
      max: 16,
      capacity: 4,
      penalty: 0.6,
      start: 2,
    });
    expect(controller.summary().levels).toEqual([2, 4, 8, 4]);
    expect(changes.at(-1)).toMatchObject({ from: 8, to: 4, reason: 'back' });
    expect(controller.held).toBe(true);
    expect(controller.level).toBe(4);
  });

  it('stops growing where the link stops scaling', () => {
    // 6 served at full speed: 2 → 4 doubles the throughput, 4 → 8 gives +50 % (6 against 4: grows),
    // 8 → 16 gives nothing: stays at 16.
    const { controller, changes } = simulate({ images: 80, max: 32, capacity: 6, start: 2 });
    expect(controller.summary().levels).toEqual([2, 4, 8, 16]);
    expect(changes.at(-1)).toMatchObject({ from: 16, to: 16, reason: 'hold' });
    expect(controller.summary().settled).toBe(16);
  });

  it('halves on a transient failure and holds', () => {
    // Pull 20 starts once the level has grown; its failure halves the level.
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
    expect(new ConcurrencyController({ max: 3, total: 10 }).level).toBe(3);
  });

  it('never exceeds the images left', () => {
    expect(new ConcurrencyController({ max: 16, total: 1 }).level).toBe(1);
    // 7 images: 2 succeed at level 2 (5 left, 4 ≤ 5: grows to 4); 4 more then leave 1: stays at 4.
    const { controller } = simulate({ images: 7, max: 16, capacity: Infinity, start: 2 });
    expect(controller.summary().levels).toEqual([2, 4]);
    const c = new ConcurrencyController({ max: 16, total: 5, start: 4 });
    const t = [c.started(0), c.started(0), c.started(0), c.started(0)];
    for (const x of t.slice(0, 3)) expect(c.succeeded(x, 100)).toBeNull();
    // 1 left: no growth, it holds.
    expect(c.succeeded(t[3] as PullTicket, 100)).toMatchObject({ from: 4, to: 4, reason: 'hold' });
    expect(c.level).toBe(4);
  });

  it('does not count failed pulls or pulls from an earlier level as samples', () => {
    const c = new ConcurrencyController({ max: 16, total: 20, start: 2 });
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
