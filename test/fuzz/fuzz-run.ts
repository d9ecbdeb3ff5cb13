// What every fuzz test shares: the seed (fixed, so CI runs the same cases every time; FUZZ_SEED
// explores others), the time bounds of one case, a tally printed at the end, and how a failing case is
// kept for reproduction.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The seed of the last recorded run (docs/reliability.md). Override with FUZZ_SEED=<int>. */
export const DEFAULT_SEED = 20_261_127;
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? DEFAULT_SEED : Number(process.env.FUZZ_SEED);
if (!Number.isSafeInteger(FUZZ_SEED))
  throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);

/** A case still running after this long is a hang: its worker is stopped and the test fails. */
export const HANG_MS = 5_000;
/** Worker time one Quadlet case may take: linear work on ≤ 128 KiB takes a few ms. */
export const SLOW_CASE_MS = 1_000;

/** Counts by label, the slowest case, and a line to print. */
export class Tally {
  readonly counts = new Map<string, number>();
  cases = 0;
  slowestMs = 0;
  slowest = '';
  longestMessage = 0;

  count(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  add(label: string, ms: number, what: string): void {
    this.cases++;
    this.count(label);
    if (ms > this.slowestMs) [this.slowestMs, this.slowest] = [ms, what];
  }

  message(text: string): void {
    this.longestMessage = Math.max(this.longestMessage, text.length);
  }

  summary(title: string, elapsedMs: number): string {
    const counts = [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`);
    return [
      `${title}: ${this.cases} cases in ${(elapsedMs / 1000).toFixed(1)} s, seed ${FUZZ_SEED}`,
      `  slowest ${this.slowestMs.toFixed(1)} ms (${this.slowest}); longest error message ${this.longestMessage} chars`,
      `  ${counts.join(', ')}`,
    ].join('\n');
  }
}

/** Keep a failing case as JSON under the temp directory; returns the file's path. */
export function saveCase(label: string, data: unknown): string {
  const file = join(tmpdir(), `bound-imaged-fuzz-${label}-${FUZZ_SEED}-${Date.now()}.json`);
  writeFileSync(
    file,
    JSON.stringify(data, (_key, value: unknown) =>
      value instanceof Uint8Array ? { base64: Buffer.from(value).toString('base64') } : value,
    ),
  );
  return file;
}
