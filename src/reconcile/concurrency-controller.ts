// The adaptive pull concurrency of `[pull] concurrency = auto`: how many pulls the pool keeps in
// flight, grown while the pulls' throughput grows (like TCP's slow start) and cut on trouble. Pure:
// fed by the pool's events (a pull started, succeeded, failed, met a transient failure) with the
// time of each, it owns no timer, no I/O and no p-limit; the pool applies `level` after each event.
//
// The rule, one round at a time:
//   - start at `start` (4), capped by `max` and the images to pull;
//   - every pull is tagged with the level at which it started. Once `c` pulls started at the current
//     level `c` have succeeded, the throughput at `c` is estimated by Little's law as
//     c / mean(their latency) pulls per second;
//   - the first round always doubles (there is nothing to compare it with); later, against the
//     previous level's estimate: ≥ 15 % better (`gain`) doubles again; more than that band worse
//     ((1 + gain) × the estimate < the previous one) goes back to the previous level; in between it
//     stays. Doubling is capped by `max` and by the images not yet finished; once it stays, goes back
//     or reaches the cap, the level holds for the rest of the run;
//   - a transient failure (one p-retry retries) halves the level (never below 1) and holds; once per
//     window, as TCP does: failures of pulls that started before the last cut do not cut again;
//   - failed pulls, and pulls that met a transient failure, are no samples.
// Pulls started at an earlier level that finish later are ignored: their latency was measured at
// another load. Near the end fewer than `c` pulls may start at `c`; then no decision is taken, and
// none is needed: nothing is left to start. Why these numbers: docs/performance.md, "Adaptive pull
// concurrency".
export interface ControllerOptions {
  /** The highest level (`[pull] max-concurrency`), ≥ 1. */
  max: number;
  /** Images the pool will pull. */
  total: number;
  /** The first level; default DEFAULT_START. */
  start?: number;
  /** The relative change in throughput a doubling must show to grow again (or to go back); default DEFAULT_GAIN. */
  gain?: number;
}

/** What a pull carries from its start to its end. */
export interface PullTicket {
  /** The level in effect when the pull started. */
  readonly level: number;
  /** When it started, ms (the controller's clock). */
  readonly startedAt: number;
  /** Set when the pull met a transient failure: its latency is not a sample. */
  transient: boolean;
}

/** `hold`: the level stays where it is (`from` = `to`) and growth stops. */
export type LevelReason = 'grow' | 'hold' | 'back' | 'transient';

/** One decision of the controller: a change of level, or the end of growth. */
export interface LevelChange {
  from: number;
  to: number;
  reason: LevelReason;
  /** The throughput estimate at `from` that decided it (pulls/s); absent for `transient`. */
  throughput?: number;
  /** The estimate at the level before `from` it was compared with (pulls/s), when there was one. */
  previous?: number;
}

/** Where the controller ended up. */
export interface ConcurrencySummary {
  /** The level at the end. */
  settled: number;
  /** The highest level reached. */
  highest: number;
  /** Every level in order, the first included (e.g. [4, 8, 16, 8]). */
  levels: number[];
  /** Throughput estimates per level measured, pulls/s. */
  throughput: Map<number, number>;
  /** Whether growth stopped (a doubling did not pay, the cap, or a transient failure). */
  held: boolean;
}

/**
 * Where `auto` starts. 4, not 2: across the emulated WAN link a round at 2 cost ~0.8 s of a ~6 s
 * cold pull of 20 images, while on loopback, where Podman applies layers one at a time, 2 and 4
 * pulls take the same time (docs/performance.md). The old fixed default was 3.
 */
export const DEFAULT_START = 4;
/**
 * The band of a doubling's decision: ≥ 15 % more throughput grows again, more than 15 % less goes
 * back. A link that scales gives close to +100 % per doubling, a store that applies layers one at a
 * time ~0 %; the band keeps the noise of a round of few samples on a loaded machine from deciding.
 */
export const DEFAULT_GAIN = 0.15;

export class ConcurrencyController {
  private current: number;
  private readonly max: number;
  private readonly total: number;
  private readonly gain: number;
  private done = 0;
  private holding = false;
  /** When the level was last halved (ms), if ever. */
  private cutAt: number | undefined;
  /** Latencies (ms) of successful pulls started at the current level, this round. */
  private samples: number[] = [];
  /** The estimate at the level before the current one, with that level. */
  private previous: { level: number; throughput: number } | undefined;
  private readonly history: number[];
  private readonly estimates = new Map<number, number>();

  constructor(o: ControllerOptions) {
    if (!(Number.isInteger(o.max) && o.max >= 1)) throw new RangeError(`max must be an integer ≥ 1`);
    this.max = o.max;
    this.total = Math.max(0, o.total);
    this.gain = o.gain ?? DEFAULT_GAIN;
    this.current = Math.max(1, Math.min(o.start ?? DEFAULT_START, this.max, Math.max(1, this.total)));
    this.history = [this.current];
  }

  /** Pulls to keep in flight now. */
  get level(): number {
    return this.current;
  }

  /** Whether growth has stopped for this run. */
  get held(): boolean {
    return this.holding;
  }

  /** A pull starts at `now`: carry the ticket to its end. */
  started(now: number): PullTicket {
    return { level: this.current, startedAt: now, transient: false };
  }

  /** A pull succeeded at `now`. Returns the decision it led to, if any. */
  succeeded(ticket: PullTicket, now: number): LevelChange | null {
    this.done += 1;
    if (this.holding || ticket.transient || ticket.level !== this.current) return null;
    this.samples.push(Math.max(now - ticket.startedAt, 1e-3));
    if (this.samples.length < this.current) return null;
    return this.decide();
  }

  /** A pull ended with an error (after its retries): counts as done, is no sample. */
  failed(_ticket: PullTicket): null {
    this.done += 1;
    return null;
  }

  /**
   * A pull met a transient failure at `now` and will be retried: halve the level and hold, unless the
   * pull started before the last cut (that cut already answered the trouble it saw).
   */
  transient(ticket: PullTicket, now: number): LevelChange | null {
    ticket.transient = true;
    this.holding = true;
    this.samples = [];
    if (this.cutAt !== undefined && ticket.startedAt < this.cutAt) return null;
    this.cutAt = now;
    const to = Math.max(1, Math.floor(this.current / 2));
    return to === this.current ? null : this.change(to, 'transient');
  }

  summary(): ConcurrencySummary {
    return {
      settled: this.current,
      highest: Math.max(...this.history),
      levels: [...this.history],
      throughput: new Map(this.estimates),
      held: this.holding,
    };
  }

  private decide(): LevelChange | null {
    const c = this.current;
    const mean = this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
    const throughput = (c / mean) * 1000;
    this.samples = [];
    this.estimates.set(c, throughput);
    const before = this.previous;
    if (before !== undefined && throughput < before.throughput * (1 + this.gain)) {
      this.holding = true;
      if (throughput * (1 + this.gain) < before.throughput) {
        return this.change(before.level, 'back', throughput, before.throughput);
      }
      return { from: c, to: c, reason: 'hold', throughput, previous: before.throughput };
    }
    const left = this.total - this.done;
    const to = Math.min(2 * c, this.max, Math.max(left, 1));
    if (to <= c) {
      // At the cap (max-concurrency, or the images left): nothing to grow to.
      this.holding = true;
      return {
        from: c,
        to: c,
        reason: 'hold',
        throughput,
        ...(before !== undefined ? { previous: before.throughput } : {}),
      };
    }
    this.previous = { level: c, throughput };
    return this.change(to, 'grow', throughput, before?.throughput);
  }

  private change(to: number, reason: LevelReason, throughput?: number, previous?: number): LevelChange {
    const from = this.current;
    this.current = to;
    this.history.push(to);
    return {
      from,
      to,
      reason,
      ...(throughput !== undefined ? { throughput } : {}),
      ...(previous !== undefined ? { previous } : {}),
    };
  }
}
