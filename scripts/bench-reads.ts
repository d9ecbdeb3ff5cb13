// Benchmark (not a timed test): what an unprivileged caller can make the root daemon spend on reads.
// Real parts throughout: a private dbus-daemon, a loopback registry, a Podman service, bound-imaged
// with BOUND images bound in one root (all present after one Upgrade). Then, BURSTS times, CALLS
// concurrent ListBoundImages from UID 65534 (setpriv; a dbus-next client over CONNECTIONS
// connections), and for each burst: the wall time, the callers' latency (p50/max), the daemon's CPU
// time (utime+stime of /proc/PID/stat), its RSS before and after, and its peak RSS during the burst
// (VmHWM, reset through /proc/PID/clear_refs before each burst).
//   bench reads: idle-rss=<MB> burst N: wall=<ms> p50=<ms> max=<ms> cpu=<ms> rss=<MB>-><MB> peak=<MB>
// Knobs: BENCH_READ_CALLS (200), BENCH_READ_CONNECTIONS (10), BENCH_READ_BURSTS (3), BENCH_READ_IMAGES (30).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, releaseDir } from './harness/cleanup.js';
import { startPrivateBus } from './harness/dbus-daemon.js';
import { daemonAfterFirstReconcile, writeBenchConfig, writeBoundRoot } from './harness/bench-daemon-run.js';
import { startSandbox } from './harness/index.js';
import { listBurst, processCpuMs, processMemMb, resetPeakMemory } from './harness/read-burst.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DAEMON = join(REPO, 'dist', 'src', 'main.js');
const CALLS = Number(process.env.BENCH_READ_CALLS ?? 200);
const CONNECTIONS = Number(process.env.BENCH_READ_CONNECTIONS ?? 10);
const BURSTS = Number(process.env.BENCH_READ_BURSTS ?? 3);
const IMAGES = Number(process.env.BENCH_READ_IMAGES ?? 30);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = makeTempDir('bench-reads');
  const bus = await startPrivateBus();
  const sandbox = await startSandbox();
  try {
    const made = await sandbox.makeImages(
      Array.from({ length: IMAGES }, (_, i) => ({ name: `reads/img${i}`, size: 1024 })),
    );
    const root = join(dir, 'root');
    await writeBoundRoot(
      root,
      made.map((img) => img.reference),
    );
    const config = await writeBenchConfig(join(dir, 'config.ini'), {
      storePath: sandbox.podman.storePath,
      podmanSocket: sandbox.podman.socketPath,
      root,
      authFile: join(dir, 'no-auth.json'),
      stateDirectory: join(dir, 'state'),
      idleExit: 0,
    });
    const p = await daemonAfterFirstReconcile(bus, DAEMON, config);
    const pid = p.pid as number;
    try {
      const idle = processMemMb(pid, 'VmRSS');
      const parts = [
        `bench reads: images=${IMAGES} calls=${CALLS} connections=${CONNECTIONS} idle-rss=${idle.toFixed(1)}MB`,
      ];
      for (let b = 1; b <= BURSTS; b++) {
        resetPeakMemory(pid);
        const rssBefore = processMemMb(pid, 'VmRSS');
        const cpuBefore = processCpuMs(pid);
        const r = await listBurst(bus, { calls: CALLS, connections: CONNECTIONS });
        await sleep(200);
        const cpu = processCpuMs(pid) - cpuBefore;
        if (r.errors.length > 0)
          console.error(`burst ${b}: ${r.errors.length} errors, first: ${r.errors[0]}`);
        if (r.rows !== IMAGES)
          console.error(`burst ${b}: ListBoundImages listed ${r.rows} rows, not ${IMAGES}`);
        parts.push(
          `burst ${b}: wall=${r.wall.toFixed(0)}ms p50=${r.p50.toFixed(0)}ms max=${r.max.toFixed(0)}ms ` +
            `cpu=${cpu.toFixed(0)}ms rss=${rssBefore.toFixed(1)}->${processMemMb(pid, 'VmRSS').toFixed(1)}MB ` +
            `peak=${processMemMb(pid, 'VmHWM').toFixed(1)}MB`,
        );
        await sleep(3000);
      }
      console.log(parts.join('\n  '));
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  } finally {
    await sandbox.stop();
    await bus.stop();
    releaseDir(dir);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
