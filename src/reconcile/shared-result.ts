// One computation shared by every caller that asks while it runs, and its result served again while it
// is fresh: what keeps a read that any local user may call (ListBoundImages) from costing the root
// daemon one discovery and one store listing per call. A result is fresh for `maxAgeMs` after its
// computation *started* (so it never shows a state older than that), and until `invalidate()` (the
// daemon calls it when a job ends or a root is remembered). A caller that arrives after an
// invalidation never joins a computation that started before it. At most `maxWaiting` callers wait
// at once; more are refused with SharedResultBusyError (memory stays bounded whatever callers do).
import { asError } from '../errors.js';

export class SharedResultBusyError extends Error {
  override name = 'SharedResultBusyError';
  constructor(readonly maxWaiting: number) {
    super(`too many callers are waiting for this answer (${maxWaiting}); try again shortly`);
  }
}

export interface SharedResultOptions {
  /** How long a result is served again, from the start of its computation; 0: only to callers that joined it. */
  maxAgeMs: number;
  /** At most this many callers wait for a computation at once. */
  maxWaiting: number;
  now?: () => number;
}

interface Flight<T> {
  readonly generation: number;
  readonly startedAt: number;
  readonly promise: Promise<T>;
  settled: boolean;
  failed: boolean;
}

export class SharedResult<T> {
  private generation = 0;
  private flight: Flight<T> | null = null;
  private waiting = 0;
  private computations = 0;
  private readonly now: () => number;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly opts: SharedResultOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** How many computations ran so far (diagnostics and tests). */
  get computed(): number {
    return this.computations;
  }

  /** Callers waiting right now. */
  get pending(): number {
    return this.waiting;
  }

  /** Results computed before this call are not served any more. */
  invalidate(): void {
    this.generation++;
  }

  /** The shared result: joins the running computation, reuses a fresh one, or starts one. */
  async get(): Promise<T> {
    const f = this.flight;
    const usable =
      f !== null &&
      f.generation === this.generation &&
      !f.failed &&
      (!f.settled || this.now() - f.startedAt < this.opts.maxAgeMs);
    if (usable && f.settled) return f.promise;
    if (this.waiting >= this.opts.maxWaiting) throw new SharedResultBusyError(this.opts.maxWaiting);
    const flight = usable ? f : this.start();
    this.waiting++;
    try {
      return await flight.promise;
    } finally {
      this.waiting--;
    }
  }

  private start(): Flight<T> {
    this.computations++;
    let promise: Promise<T>;
    try {
      promise = this.compute();
    } catch (err) {
      promise = Promise.reject(asError(err));
    }
    const flight: Flight<T> = {
      generation: this.generation,
      startedAt: this.now(),
      promise,
      settled: false,
      failed: false,
    };
    flight.promise.then(
      () => (flight.settled = true),
      () => {
        flight.settled = true;
        // A failure is shared with those who waited for it, never served again.
        flight.failed = true;
      },
    );
    this.flight = flight;
    return flight;
  }
}
