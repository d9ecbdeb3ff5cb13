// Benchmark (not a timed test): the reconcile engine against the way bootc does the same job, side by
// side in one run on the same loopback registry (real docker-registry, real Podman):
//   (a) cold pull of 20 bound images into a fresh store: our runReconcile (discovery, store check,
//       plan, pull pool at the default concurrency `auto`, GC) vs bootc's loop, one image at a time:
//       `podman --root STORE image exists REF` then `podman --root STORE pull REF`;
//   (b) a no-op reconcile of 100 bound images that are all present vs the same `image exists` loop.
// Both sides use the same Podman config (registries.conf marking the registry insecure, storage.conf)
// and global flags: the harness's PodmanService env and globalArgs. Each cold repetition gets a fresh
// store (a new Podman service); the order of the two sides alternates between repetitions.
//   bench cold-pull-20: ours=<median>ms baseline=<median>ms ratio=<baseline/ours>   (target ≥ 2)
//   bench noop-100: ours=<median>ms baseline=<median>ms ratio=<baseline/ours>       (target ≥ 20)
//   bench noop-100-first-run: …   (no target: the same no-op as the first reconcile of a daemon just
//       started, before it has a listing to keep; noop-100 is a running daemon's, e.g. the timer's)
//   bench noop-100-activated: …   (target ≥ 10: a daemon process started for the job, the store
//       unchanged since a previous process's run, from its start to the job's end, as the hourly timer
//       meets a daemon that exits when idle)
//   bench cold-pull-20-wan: …   (target ≥ 3: the same cold pull with both sides pulling through one
//       emulated WAN link, scripts/harness/wan-proxy.ts: a registry behind a CDN as a host sees it)
// Knobs: BENCH_COLD_RUNS (default 3), BENCH_NOOP_RUNS (5), BENCH_IMAGE_BYTES (3 MiB of random
// payload per cold image, over 2 layers on top of the shared busybox layer); the WAN link:
// BENCH_WAN_RTT_MS (40), BENCH_WAN_CONN_MBIT (100, per connection), BENCH_WAN_LINK_MBIT (1000, all
// connections together), BENCH_WAN_RTT_MS=0 skips the WAN line; BENCH_WAN_CURVE=1,2,4,8,16,auto also
// times our side alone through the link at each of those pull concurrencies (one run each; `auto` is
// the default adaptive pool). For every run of ours at `auto` the levels its controller went through
// are noted on stderr. BENCH_ONLY=cold,wan,noop picks the parts that run (comma-separated; all by
// default): BENCH_ONLY=wan runs the WAN line and its curve alone. BENCH_DAEMON=tsc makes
// noop-100-activated start the development build instead of the bundle the packages ship.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { defaultConfig, type Config } from '../src/config/index.js';
import { createRunDeps } from '../src/reconcile/deps.js';
import { Job } from '../src/reconcile/job.js';
import { runReconcile, type RunDeps } from '../src/reconcile/run.js';
import { createLogger } from '../src/systemd/log.js';
import { makeTempDir, releaseDir, trackChild, untrackChild } from './harness/cleanup.js';
import type { MadeImage, PodmanCli, PodmanService, Sandbox } from './harness/index.js';
import { startPodmanService, startSandbox } from './harness/index.js';
import { startPrivateBus } from './harness/dbus-daemon.js';
import { activatedCaller } from './harness/activated-job.js';
import { writeBenchConfig, writeBoundRoot } from './harness/bench-daemon-run.js';
import { shippedDaemon } from './harness/shipped-daemon.js';
import { startWanProxy, wanOptionsFromEnv } from './harness/wan-proxy.js';
import { stackOf } from '../src/errors.js';
import { tuneV8 } from '../src/v8-tuning.js';

const COLD_IMAGES = 20;
const NOOP_IMAGES = 100;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const NOOP_RUNS = Number(process.env.BENCH_NOOP_RUNS ?? 5);
const IMAGE_BYTES = Number(process.env.BENCH_IMAGE_BYTES ?? 3 * 1024 * 1024);
const WAN = wanOptionsFromEnv('BENCH_WAN_', { rttMs: 40, connMbit: 100, linkMbit: 1000 });
/** BENCH_ONLY: which parts run (comma-separated: cold, wan, noop); all by default. */
const PARTS = ['cold', 'wan', 'noop'];
const ONLY = new Set((process.env.BENCH_ONLY ?? PARTS.join(',')).split(',').map((x) => x.trim()));
for (const part of ONLY) {
  if (!PARTS.includes(part))
    throw new Error(`BENCH_ONLY: expected some of ${PARTS.join(',')}, got "${part}"`);
}
const WAN_CURVE: Concurrency[] = (process.env.BENCH_WAN_CURVE ?? '')
  .split(',')
  .map((x) => x.trim())
  .filter((x) => x !== '')
  .map((x) => (x === 'auto' ? 'auto' : Number(x)));

type Concurrency = number | 'auto';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The 1-minute load average: the figures mean little when other work shares the cores. */
function load(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
}

/** utime+stime (+ children's, for this process) of `pid`, in clock ticks; 0 when it is gone. */
function ticksOf(pid: string, withChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return (f[11] ?? 0) + (f[12] ?? 0) + (withChildren ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
  } catch {
    return 0;
  }
}

/** Pids whose command line contains `needle` (the Podman service of a socket, the registry of a dir). */
function pidsOf(needle: string): string[] {
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p) || p === String(process.pid)) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
}

/** Busy ticks of the whole machine (all cores), from /proc/stat. */
function machineBusyTicks(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/**
 * How much of the machine other work took while a side ran: (all busy CPU − this benchmark's own:
 * this process, the Podman service, the registry, and their finished children) / all CPU. Printed beside
 * each figure, because on a shared 2-core machine that is what moves the cold-pull ratio.
 */
function startCpuMeter(needles: string[]): () => number {
  const pids = needles.flatMap(pidsOf);
  // Children count too: the service re-executes itself as `storage-untar` for every layer it unpacks.
  const ours = () => ticksOf('self', true) + pids.reduce((a, p) => a + ticksOf(p, true), 0);
  const m0 = machineBusyTicks();
  const o0 = ours();
  return () => {
    const m1 = machineBusyTicks();
    const others = m1.busy - m0.busy - (ours() - o0);
    return Math.max(0, others) / Math.max(1, m1.total - m0.total);
  };
}

function note(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

/**
 * Exit status of one podman command on `cli`'s store; stdout dropped, stderr kept for errors. Not
 * the harness's runStatus(): that starts every command under setpriv, which would add a process
 * start of ours to each of the baseline's podman calls.
 */
function podmanStatus(cli: PodmanCli, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const argv = [...cli.globalArgs, ...args];
    const child = spawn('podman', argv, { env: cli.env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (child.pid !== undefined) trackChild(child.pid, ['podman', ...argv], () => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (child.pid !== undefined) untrackChild(child.pid);
      resolve({ code: code ?? -1, stderr });
    });
  });
}

/** bootc's way: for each image in turn, `image exists`, and `pull` when it does not. Returns the pull count. */
async function bootcLoop(cli: PodmanCli, refs: readonly string[]): Promise<number> {
  let pulled = 0;
  for (const ref of refs) {
    const exists = await podmanStatus(cli, ['image', 'exists', ref]);
    if (exists.code === 0) continue;
    if (exists.code !== 1)
      throw new Error(`podman image exists ${ref}: status ${exists.code}: ${exists.stderr}`);
    const pull = await podmanStatus(cli, ['pull', ref]);
    if (pull.code !== 0) throw new Error(`podman pull ${ref}: status ${pull.code}: ${pull.stderr}`);
    pulled += 1;
  }
  return pulled;
}

/** The pool's `pull concurrency …` log lines (changes at debug, where it settled at info) of each run. */
let concurrencyLines: string[] = [];
const poolLog = new Writable({
  write: (chunk: Buffer, _e, done) => {
    for (const line of chunk.toString().split('\n')) {
      const m = /^<\d>(pull concurrency [^\n]*?)(?= job=|$)/.exec(line);
      if (m) concurrencyLines.push(m[1] ?? '');
    }
    done();
  },
});

/** The daemon's real dependencies (defaults: concurrency auto) on `svc`, modules loaded and socket checked. */
async function ourDeps(
  svc: PodmanService,
  root: string,
  dir: string,
  concurrency?: Concurrency,
): Promise<RunDeps> {
  const config: Config = defaultConfig();
  if (concurrency !== undefined) config.pull.concurrency = concurrency;
  config.storage.path = svc.storePath;
  config.storage.podmanSocket = svc.socketPath;
  config.discovery.roots = [root];
  config.pull.authFiles = [join(dir, 'no-auth.json')];
  const logger = createLogger({ sink: 'stderr', stderr: poolLog, minPriority: 'debug' });
  const deps = createRunDeps({ config, logger });
  // A running daemon has loaded its modules before any reconcile: keep that one-time cost out.
  await deps.store.storeRoot();
  return deps;
}

let jobIds = 1;
let coldRoots = 0;

/** One reconcile, timed; fails unless it succeeds having pulled `expectPulled` images. */
async function ourReconcile(deps: RunDeps, expectPulled: number): Promise<number> {
  const job = new Job(jobIds++, { extraRoots: [], pullPolicy: 'missing', dryRun: false, gc: true }, 0);
  const t0 = nowMs();
  // BENCH_VERBOSE: each pull's span in the run, to see what bounds it (first start, spacing, tail).
  const spans: [number, number][] = [];
  const timed: RunDeps = process.env.BENCH_VERBOSE
    ? {
        ...deps,
        store: {
          ...deps.store,
          storeRoot: () => deps.store.storeRoot(),
          listImages: () => deps.store.listImages(),
          imageId: (r) => deps.store.imageId(r),
          removeImage: (id) => deps.store.removeImage(id),
          untag: (n) => deps.store.untag(n),
          pull: async (r, o) => {
            const a = nowMs() - t0;
            await deps.store.pull(r, o);
            spans.push([a, nowMs() - t0]);
          },
        },
      }
    : deps;
  await runReconcile(job, timed);
  const ms = nowMs() - t0;
  if (spans.length > 0) {
    spans.sort((x, y) => x[1] - y[1]);
    const fmt = (x: number): string => (x / 1000).toFixed(2);
    note(
      `  pulls (start-end s, by end): ${spans.map(([a, b]) => `${fmt(a)}-${fmt(b)}`).join(' ')}; run ${fmt(ms)}`,
    );
  }
  const s = job.snapshot();
  if (s.state !== 'success' || s.pulled.length !== expectPulled) {
    throw new Error(`our reconcile: ${s.result}, pulled ${s.pulled.length}: ${JSON.stringify(s.errors)}`);
  }
  return ms;
}

/** Tag names in the store, by the podman CLI: checks both sides did the whole job. */
async function storeCount(cli: PodmanCli): Promise<number> {
  const { stdout } = await cli.podman(['images', '--noheading', '--format', '{{.Repository}}:{{.Tag}}']);
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

interface Figures {
  ours: number[];
  /** Where `auto` settled in each run of ours (its log line), when it ran. */
  levels: string[];
  baseline: number[];
  /** Share of the machine's CPU other work took while each timed run went on. */
  othersOurs: number[];
  othersBaseline: number[];
}

function report(name: string, f: Figures): void {
  const o = median(f.ours);
  const b = median(f.baseline);
  note(`${name} ours runs: ${f.ours.map((x) => x.toFixed(0)).join(' ')} ms`);
  note(`${name} baseline runs: ${f.baseline.map((x) => x.toFixed(0)).join(' ')} ms`);
  for (const l of f.levels) note(`${name} ours: ${l}`);
  const pct = (xs: number[]): string => xs.map((x) => `${(x * 100).toFixed(0)}%`).join(' ');
  note(
    `${name} CPU taken by other work: ours runs ${pct(f.othersOurs)}, baseline runs ${pct(f.othersBaseline)}`,
  );
  console.log(`bench ${name}: ours=${o.toFixed(0)}ms baseline=${b.toFixed(0)}ms ratio=${(b / o).toFixed(2)}`);
}

/** `registryHost`: where both sides pull from (the registry, or the WAN proxy in front of it). */
async function coldPull(
  sb: Sandbox,
  images: MadeImage[],
  dir: string,
  registryHost = sb.registry.host,
  opts: { runs?: number; sides?: readonly ('ours' | 'baseline')[]; concurrency?: Concurrency } = {},
): Promise<Figures> {
  const refs = images.map((i) => i.reference.replace(sb.registry.host, registryHost));
  const root = join(dir, `cold-root-${coldRoots++}`);
  await writeBoundRoot(root, refs);
  const f: Figures = { ours: [], levels: [], baseline: [], othersOurs: [], othersBaseline: [] };
  for (let rep = 0; rep < (opts.runs ?? COLD_RUNS); rep++) {
    const order = rep % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
    for (const side of order.filter((s) => opts.sides?.includes(s) ?? true)) {
      const svc = await startPodmanService({ insecureRegistries: [sb.registry.host, registryHost] });
      try {
        if (side === 'ours') {
          const deps = await ourDeps(svc, root, dir, opts.concurrency);
          const meter = startCpuMeter([svc.socketPath, sb.registry.dir]);
          concurrencyLines = [];
          f.ours.push(await ourReconcile(deps, refs.length));
          f.othersOurs.push(meter());
          const settled = concurrencyLines.find((l) => l.includes('settled'));
          if (settled !== undefined) {
            f.levels.push(settled);
            if (process.env.BENCH_VERBOSE) for (const l of concurrencyLines) note(`  ${l}`);
          }
        } else {
          const meter = startCpuMeter([svc.socketPath, sb.registry.dir]);
          const t0 = nowMs();
          const pulled = await bootcLoop(svc, refs);
          f.baseline.push(nowMs() - t0);
          f.othersBaseline.push(meter());
          if (pulled !== refs.length) throw new Error(`bootc loop pulled ${pulled} of ${refs.length}`);
        }
        const count = await storeCount(svc);
        if (count !== refs.length)
          throw new Error(`${side}: ${count} images in the store, not ${refs.length}`);
      } finally {
        await svc.stop();
      }
    }
  }
  return f;
}

/**
 * The no-op figures twice over the same baseline runs: `steady` is a running daemon's reconcile (its
 * last listing kept, the store confirmed through an image it listed), `first` the first reconcile of
 * a daemon just started (modules loaded, but no listing yet: GET /info and a full listing).
 */
async function noop(
  sb: Sandbox,
  images: MadeImage[],
  dir: string,
): Promise<{ steady: Figures; first: Figures; activated: Figures }> {
  const refs = images.map((i) => i.reference);
  const root = join(dir, 'noop-root');
  await writeBoundRoot(root, refs);
  const svc = await startPodmanService({ insecureRegistries: [sb.registry.host] });
  try {
    const deps = await ourDeps(svc, root, dir);
    const t0 = nowMs();
    await ourReconcile(deps, refs.length); // fills the store (untimed)
    note(`noop-100: store filled with ${refs.length} images in ${(nowMs() - t0).toFixed(0)} ms`);
    const f: Figures = { ours: [], levels: [], baseline: [], othersOurs: [], othersBaseline: [] };
    const needles = [svc.socketPath, sb.registry.dir];
    const baseline = async (): Promise<void> => {
      const meter = startCpuMeter(needles);
      const t1 = nowMs();
      const pulled = await bootcLoop(svc, refs);
      f.baseline.push(nowMs() - t1);
      f.othersBaseline.push(meter());
      if (pulled !== 0) throw new Error(`bootc loop pulled ${pulled} images in a no-op run`);
    };
    const first: Figures = {
      ours: [],
      levels: [],
      baseline: f.baseline,
      othersOurs: [],
      othersBaseline: f.othersBaseline,
    };
    const ours = async (): Promise<void> => {
      const meter = startCpuMeter(needles);
      f.ours.push(await ourReconcile(deps, 0));
      f.othersOurs.push(meter());
    };
    const fresh = async (): Promise<void> => {
      const started = await ourDeps(svc, root, dir);
      const meter = startCpuMeter(needles);
      first.ours.push(await ourReconcile(started, 0));
      first.othersOurs.push(meter());
    };
    const activated: Figures = {
      ours: [],
      levels: [],
      baseline: f.baseline,
      othersOurs: [],
      othersBaseline: f.othersBaseline,
    };
    await mkdir(join(dir, 'activated-state'), { recursive: true });
    const config = await writeBenchConfig(join(dir, 'activated.ini'), {
      storePath: svc.storePath,
      podmanSocket: svc.socketPath,
      root,
      authFile: join(dir, 'no-auth.json'),
      stateDirectory: join(dir, 'activated-state'),
    });
    const daemon = await shippedDaemon(dir);
    note(`noop-100-activated: the ${daemon.kind} daemon, ${daemon.entry}`);
    const bus = await startPrivateBus({
      activate: { exec: [process.execPath, daemon.entry, '--config', config] },
    });
    const caller = await activatedCaller(bus);
    // The activated daemons are the bus's children: their CPU time is counted as ours, not others'.
    const withDaemons = [...needles, bus.configFile];
    try {
      await caller.noopJob(); // a previous process's run: keeps the listing on disk
      const started = async (): Promise<void> => {
        const meter = startCpuMeter(withDaemons);
        activated.ours.push(await caller.noopJob());
        activated.othersOurs.push(meter());
      };
      for (let rep = 0; rep < NOOP_RUNS; rep++) {
        const order = rep % 2 === 0 ? [ours, baseline, fresh, started] : [started, fresh, baseline, ours];
        for (const side of order) await side();
      }
    } finally {
      caller.close();
      await bus.stop();
    }
    const count = await storeCount(svc);
    if (count !== refs.length) throw new Error(`noop: ${count} images in the store, not ${refs.length}`);
    return { steady: f, first, activated };
  } finally {
    await svc.stop();
  }
}

async function main(): Promise<void> {
  // Our in-process reconciles run under the daemon's V8 flags, as in the daemon (src/v8-tuning.ts).
  note(`V8 flags of the daemon applied: ${tuneV8().join(' ') || '(given on the command line)'}`);
  const dir = makeTempDir('bench-pull');
  const sb = await startSandbox();
  note(`${cpus().length} cores, load average ${load()} at start`);
  try {
    const t0 = nowMs();
    const cold = await sb.makeImages(
      Array.from({ length: COLD_IMAGES }, (_, i) => ({ name: `cold/img${i}`, layers: 3, size: IMAGE_BYTES })),
    );
    const present = ONLY.has('noop')
      ? await sb.makeImages(
          Array.from({ length: NOOP_IMAGES }, (_, i) => ({ name: `noop/img${i}`, layers: 2, size: 4096 })),
        )
      : [];
    note(
      `images pushed in ${(nowMs() - t0).toFixed(0)} ms (${COLD_IMAGES} × ~${(IMAGE_BYTES / 2 ** 20).toFixed(1)} MiB + busybox layer, ${NOOP_IMAGES} small)`,
    );
    if (ONLY.has('cold')) report('cold-pull-20', await coldPull(sb, cold, dir));
    if (WAN.rttMs > 0 && ONLY.has('wan')) {
      const proxy = await startWanProxy({ host: '127.0.0.1', port: sb.registry.port }, WAN);
      try {
        note(
          `WAN link: RTT ${WAN.rttMs} ms, ${WAN.connMbit} Mbit/s per connection, ${WAN.linkMbit} Mbit/s in all`,
        );
        report('cold-pull-20-wan', await coldPull(sb, cold, dir, proxy.host));
        for (const c of WAN_CURVE) {
          const f = await coldPull(sb, cold, dir, proxy.host, { runs: 1, sides: ['ours'], concurrency: c });
          note(
            `cold-pull-20-wan ours at concurrency ${c}: ${f.ours[0]?.toFixed(0)} ms (other work ${((f.othersOurs[0] ?? 0) * 100).toFixed(0)}%)${f.levels[0] ? `: ${f.levels[0]}` : ''}`,
          );
        }
        note(`WAN link: ${proxy.connections} connections in all`);
      } finally {
        await proxy.stop();
      }
    }
    if (ONLY.has('noop')) {
      const { steady, first, activated } = await noop(sb, present, dir);
      report('noop-100', steady);
      report('noop-100-first-run', first);
      report('noop-100-activated', activated);
    }
    note(`load average ${load()} at the end`);
  } finally {
    await sb.stop();
    releaseDir(dir);
  }
}

main().catch((e: unknown) => {
  console.error(stackOf(e));
  process.exitCode = 1;
});
