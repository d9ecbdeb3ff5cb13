// The pull pool: bounded concurrency (p-limit), retries of transient failures with exponential
// backoff and jitter (p-retry), a timeout per attempt, and cancellation through one AbortSignal.
// Unauthorized, forbidden and manifest-unknown are never retried. The concurrency is either fixed or
// `auto`: then a ConcurrencyController (concurrency-controller.ts) sets p-limit's level from the
// pulls' start and end times.
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { PullError } from '../store/errors.js';
import type { PullOptions } from '../store/podman-client.js';
import type { WantedImage } from './plan.js';
import { asError } from '../errors.js';
import {
  ConcurrencyController,
  type ConcurrencySummary,
  type LevelChange,
  type PullTicket,
} from './concurrency-controller.js';

export interface PullClient {
  pull(reference: string, opts: PullOptions): Promise<void>;
}

export interface PullPoolOptions {
  /** Pulls in flight: a fixed number, or `auto` (grown while throughput grows, up to maxConcurrency). */
  concurrency: number | 'auto';
  /** The cap of `auto`. */
  maxConcurrency: number;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
  signal: AbortSignal;
  /** Credentials for one image (its AuthFile=, else the global file); throws when they cannot be read. */
  credentialFor(w: WantedImage): Promise<PullOptions['auth']>;
  onStart?(w: WantedImage): void;
  onProgress?(w: WantedImage, fraction: number): void;
  onRetry?(w: WantedImage, error: Error, attempt: number, retriesLeft: number): void;
  onDone?(w: WantedImage, error: Error | null): void;
  /** `auto` only: the level changed. */
  onLevel?(change: LevelChange): void;
  /** `auto` only, when every pull has ended: where the level settled. */
  onSettled?(summary: ConcurrencySummary): void;
  /** The controller's clock, ms; default performance.now(). */
  now?(): number;
}

export interface PullOutcome {
  wanted: WantedImage;
  error: Error | null;
}

export function isTransient(err: unknown): boolean {
  return err instanceof PullError && err.kind === 'transient';
}

/** Byte progress of one pull, from the layer events of its progress stream. */
export class LayerProgress {
  private readonly layers = new Map<string, { current: number; total: number }>();
  update(id: string | undefined, current: number | undefined, total: number | undefined): number {
    if (id && typeof total === 'number' && total > 0) {
      this.layers.set(id, { current: Math.min(current ?? 0, total), total });
    }
    let cur = 0;
    let tot = 0;
    for (const l of this.layers.values()) {
      cur += l.current;
      tot += l.total;
    }
    return tot > 0 ? cur / tot : 0;
  }
}

async function pullOnce(
  client: PullClient,
  w: WantedImage,
  auth: PullOptions['auth'],
  o: PullPoolOptions,
): Promise<void> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = AbortSignal.any([o.signal, timeout]);
  const progress = new LayerProgress();
  try {
    await client.pull(w.reference, {
      ...(w.platform ? { platform: w.platform } : {}),
      ...(auth ? { auth } : {}),
      signal,
      onProgress: (e) => o.onProgress?.(w, progress.update(e.id, e.current, e.total)),
    });
  } catch (err) {
    if (timeout.aborted && !o.signal.aborted) {
      throw new PullError(`pull of ${w.reference} timed out after ${Math.round(o.timeoutMs / 1000)} s`, {
        reference: w.reference,
        kind: 'transient',
      });
    }
    throw err;
  }
}

/** Pull every image; never rejects: each outcome carries its error (or null). */
export async function runPulls(
  client: PullClient,
  items: readonly WantedImage[],
  o: PullPoolOptions,
): Promise<PullOutcome[]> {
  const now = o.now ?? (() => performance.now());
  const controller =
    o.concurrency === 'auto'
      ? new ConcurrencyController({ max: o.maxConcurrency, total: items.length })
      : undefined;
  const limit = pLimit(controller?.level ?? (o.concurrency as number));
  const apply = (change: LevelChange | null): void => {
    if (change === null) return;
    if (limit.concurrency !== change.to) limit.concurrency = change.to;
    o.onLevel?.(change);
  };
  const outcomes = await Promise.all(
    items.map((w) =>
      limit(async (): Promise<PullOutcome> => {
        if (o.signal.aborted) return { wanted: w, error: new Error('cancelled') };
        o.onStart?.(w);
        const ticket: PullTicket | undefined = controller?.started(now());
        let error: Error | null = null;
        try {
          const auth = await o.credentialFor(w);
          await pRetry(() => pullOnce(client, w, auth, o), {
            retries: o.retries,
            minTimeout: o.retryDelayMs,
            factor: 2,
            randomize: true,
            signal: o.signal,
            shouldRetry: ({ error: e }) => isTransient(e) && !o.signal.aborted,
            onFailedAttempt: ({ error: e, attemptNumber, retriesLeft }) => {
              if (isTransient(e) && retriesLeft > 0 && !o.signal.aborted) {
                if (controller && ticket) apply(controller.transient(ticket, now()));
                o.onRetry?.(w, e, attemptNumber, retriesLeft);
              }
            },
          });
        } catch (err) {
          error = o.signal.aborted ? new Error('cancelled') : asError(err);
        }
        if (controller && ticket) {
          apply(error === null ? controller.succeeded(ticket, now()) : controller.failed(ticket));
        }
        o.onDone?.(w, error);
        return { wanted: w, error };
      }),
    ),
  );
  if (controller && items.length > 0) o.onSettled?.(controller.summary());
  return outcomes;
}
