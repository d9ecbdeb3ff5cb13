// `[pull] concurrency = auto` with the real registry and Podman service: through the WAN emulator
// (scripts/harness/wan-proxy.ts) at a long round-trip time, where a pull is almost all waiting on the
// network, the controller grows beyond its first doubling (which it takes unconditionally) because
// the measured throughput grew; on plain loopback every image is pulled and the level stays within
// max-concurrency. No timing ratio is asserted: the 2-core machine is shared and noisy, and a RTT of
// 500 ms leaves a doubling from 8 pulls to 16 worth close to 2× against the 1.15× it needs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, PodmanService, Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, releaseDir, startPodmanService, startSandbox } from '../../scripts/harness/index.js';
import { startWanProxy, type WanProxy } from '../../scripts/harness/wan-proxy.js';
import type { Config } from '../../src/config/index.js';
import { imageUnit, listStore, reconcile, testConfig, writeRoot } from './reconcile-harness.js';

const IMAGES = 24;

let sb: Sandbox;
let wan: WanProxy;
let dir: string;
let images: MadeImage[];
const services: PodmanService[] = [];

beforeAll(async () => {
  sb = await startSandbox();
  images = await sb.makeImages(
    Array.from({ length: IMAGES }, (_, i) => ({ name: `auto/img${i}`, layers: 1, size: 16 * 1024 })),
  );
  wan = await startWanProxy(
    { host: '127.0.0.1', port: sb.registry.port },
    { oneWayMs: 250, connBitsPerSec: 100e6, linkBitsPerSec: 1e9 },
  );
  dir = makeTempDir('rec-auto');
});

afterAll(async () => {
  for (const s of services) await s.stop();
  await wan?.stop();
  await sb?.stop();
  if (dir) releaseDir(dir);
});

/** An auto config on `svc` binding `refs` in a root of its own. */
async function autoConfig(svc: PodmanService, name: string, refs: string[]): Promise<Config> {
  const root = join(dir, name);
  await writeRoot(
    root,
    refs.map((ref, i) => imageUnit(`img${i}`, ref)),
  );
  const config = testConfig({
    storePath: svc.storePath,
    socketPath: svc.socketPath,
    roots: [root],
    authFile: join(dir, 'no-auth.json'),
  });
  config.pull.concurrency = 'auto';
  config.pull.maxConcurrency = 16;
  return config;
}

/** The fields of the `pull concurrency settled` line (stderr sink: lower-case keys). */
function settled(log: string[]): { settled: number; highest: number; levels: number[] } {
  const line = log.find((l) => l.includes('pull concurrency settled at'));
  expect(line, log.join('\n')).toBeDefined();
  const field = (k: string): string => {
    const m = new RegExp(` ${k}=(?:"([^"]*)"|(\\S*))`).exec(line ?? '');
    return m?.[1] ?? m?.[2] ?? '';
  };
  return {
    settled: Number(field('concurrency')),
    highest: Number(field('highest_concurrency')),
    levels: field('concurrency_levels').split(' ').map(Number),
  };
}

/** Every one of `refs` is a name in `svc`'s store, by Podman's own listing. */
async function expectStored(svc: PodmanService, refs: readonly string[]): Promise<void> {
  const listed = await listStore(svc);
  for (const ref of refs)
    expect(
      listed.some((img) => img.names.includes(ref)),
      ref,
    ).toBe(true);
}

describe('[pull] concurrency = auto', () => {
  it('through a WAN link, grows past its first doubling and pulls every image', async () => {
    const svc = await startPodmanService({ insecureRegistries: [wan.host] });
    services.push(svc);
    const refs = images.map((img) => img.reference.replace(sb.registry.host, wan.host));
    const run = await reconcile(await autoConfig(svc, 'wan', refs));
    expect(run.snap.state, JSON.stringify(run.snap.errors)).toBe('success');
    expect(run.snap.pulled.sort()).toEqual([...refs].sort());
    const s = settled(run.log);
    // 4 → 8 is taken without a measurement; beyond 8 only when 8 pulls gave ≥ 15 % more than 4.
    expect(s.levels.slice(0, 2)).toEqual([4, 8]);
    expect(s.highest).toBeGreaterThan(8);
    expect(s.highest).toBeLessThanOrEqual(16);
    // The second doubling was measured: 8 against 4 (capped by the images left, so maybe not 16).
    const grew = run.log.filter((l) => /pull concurrency 8 → \d+ \(grow: throughput .* against /.test(l));
    expect(grew, run.log.filter((l) => l.includes('pull concurrency')).join('\n')).toHaveLength(1);
    await expectStored(svc, refs);
  });

  it('on loopback, pulls every image and stays within max-concurrency', async () => {
    const svc = await startPodmanService({ insecureRegistries: [sb.registry.host] });
    services.push(svc);
    const refs = images.slice(0, 12).map((img) => img.reference);
    const run = await reconcile(await autoConfig(svc, 'loopback', refs));
    expect(run.snap.state, JSON.stringify(run.snap.errors)).toBe('success');
    expect(run.snap.pulled.sort()).toEqual([...refs].sort());
    const s = settled(run.log);
    expect(s.levels[0]).toBe(4);
    expect(s.highest).toBeLessThanOrEqual(16);
    expect(s.settled).toBeGreaterThanOrEqual(1);
    await expectStored(svc, refs);
  });
});
