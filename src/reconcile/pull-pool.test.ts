// The pull pool with a client that only waits (no Podman): fixed concurrency is p-limit at that
// number, `auto` follows its controller (concurrency-controller.ts). Faults are injected by the client.
import { describe, expect, it } from 'vitest';
import { PullError } from '../store/errors.js';
import type { LevelChange } from './concurrency-controller.js';
import type { WantedImage } from './plan.js';
import { runPulls, type PullClient, type PullPoolOptions } from './pull-pool.js';

const items = (n: number): WantedImage[] =>
  Array.from({ length: n }, (_, i) => ({ reference: `127.0.0.1:1/img${i}:latest`, sources: [] }));

/** A client whose pulls each take `ms`; counts the most in flight; `fail(ref, attempt)` injects errors. */
function waitingClient(ms: number, fail?: (ref: string, attempt: number) => Error | undefined) {
  const attempts = new Map<string, number>();
  const state = { inFlight: 0, most: 0 };
  const client: PullClient = {
    async pull(reference) {
      const attempt = (attempts.get(reference) ?? 0) + 1;
      attempts.set(reference, attempt);
      state.inFlight += 1;
      state.most = Math.max(state.most, state.inFlight);
      try {
        await new Promise((r) => setTimeout(r, ms));
        const e = fail?.(reference, attempt);
        if (e) throw e;
      } finally {
        state.inFlight -= 1;
      }
    },
  };
  return { client, state };
}

function options(over: Partial<PullPoolOptions>): PullPoolOptions {
  return {
    concurrency: 'auto',
    maxConcurrency: 16,
    retries: 2,
    retryDelayMs: 1,
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    credentialFor: () => Promise.resolve(undefined),
    ...over,
  };
}

describe('runPulls', () => {
  it('fixed concurrency: p-limit at that number, no controller', async () => {
    const { client, state } = waitingClient(5);
    const levels: LevelChange[] = [];
    let settled = false;
    const outcomes = await runPulls(
      client,
      items(12),
      options({ concurrency: 3, onLevel: (x) => levels.push(x), onSettled: () => (settled = true) }),
    );
    expect(outcomes.every((x) => x.error === null)).toBe(true);
    expect(state.most).toBe(3);
    expect(levels).toEqual([]);
    expect(settled).toBe(false);
  });

  it('auto: grows while pulls that take the same time finish, within max-concurrency', async () => {
    const { client, state } = waitingClient(40);
    const levels: number[] = [];
    let summary: { highest: number; levels: number[] } | undefined;
    const outcomes = await runPulls(
      client,
      items(40),
      options({
        maxConcurrency: 8,
        onLevel: (x) => levels.push(x.to),
        onSettled: (s) => (summary = s),
      }),
    );
    expect(outcomes.every((x) => x.error === null)).toBe(true);
    expect(levels[0]).toBe(8); // from 4, the first round always doubles
    expect(summary?.highest).toBe(8);
    expect(summary?.highest).toBeLessThanOrEqual(8);
    expect(state.most).toBeLessThanOrEqual(8);
  });

  it('auto: a transient failure halves the level and the pull is retried', async () => {
    const { client } = waitingClient(20, (ref, attempt) =>
      ref.endsWith('img9:latest') && attempt === 1
        ? new PullError('registry: 503', { reference: ref, kind: 'transient' })
        : undefined,
    );
    const changes: LevelChange[] = [];
    const outcomes = await runPulls(
      client,
      items(30),
      options({ onLevel: (x) => changes.push(x), onSettled: () => undefined }),
    );
    expect(outcomes.every((x) => x.error === null)).toBe(true);
    const cut = changes.find((x) => x.reason === 'transient');
    expect(cut).toBeDefined();
    expect(cut?.to).toBe(Math.max(1, Math.floor((cut?.from ?? 0) / 2)));
    expect(changes.at(-1)).toBe(cut); // held after it
  });

  it('auto: a pull that fails for good is reported and not retried', async () => {
    const { client } = waitingClient(5, (ref) =>
      ref.endsWith('img3:latest')
        ? new PullError('manifest unknown', { reference: ref, kind: 'not-found' })
        : undefined,
    );
    const outcomes = await runPulls(client, items(10), options({}));
    expect(outcomes.filter((x) => x.error !== null).map((x) => x.wanted.reference)).toEqual([
      '127.0.0.1:1/img3:latest',
    ]);
  });
});
