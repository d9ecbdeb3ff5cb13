// Following a long job with `bound-images upgrade` against the real daemon: a pull slowed down by a
// throttling proxy in front of the loopback registry keeps the job running while the test acts.
// Two followers of the same job (single flight), a third queued behind it (other options); SIGINT stops one (exit 130, the job runs on);
// `cancel` ends the job and the other follower reports "cancelled" (exit 1); cancel of a finished or
// unknown job (exit 1); the daemon killed mid-job ends the follower with exit 3.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, startSandbox, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import { cli, cliInBackground, lines, type BackgroundCli } from './cli-harness.js';
import {
  ensureBuilt,
  makeRoot,
  startDaemon,
  startSlowProxy,
  type DaemonProcess,
  type SlowProxy,
} from './daemon-harness.js';

let sandbox: Sandbox;
let bus: PrivateBus;
let daemon: DaemonProcess;
let proxy: SlowProxy;
let slowRef: string;

const run = (args: string[]) => cli(args, { env: bus.env() });

async function pullStarted(follower: BackgroundCli): Promise<number> {
  await waitUntil('the slow pull to show', async () => follower.stdout().includes(slowRef), {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
  const id = /^job (\d+)$/m.exec(follower.stdout())?.[1];
  if (id === undefined) throw new Error(`no job line in:\n${follower.stdout()}`);
  return Number(id);
}

beforeAll(async () => {
  await ensureBuilt();
  const port = await freePort();
  sandbox = await startSandbox({ insecureRegistries: [`127.0.0.1:${port}`] });
  const [slow, app] = (await sandbox.makeImages([
    { name: 'slow', size: 3 * 1024 * 1024 },
    { name: 'app' },
  ])) as [MadeImage, MadeImage];
  // ~3 MB at 100 kB/s: a pull of slowRef runs for about 30 s unless cancelled.
  proxy = await startSlowProxy(port, { host: '127.0.0.1', port: sandbox.registry.port }, 100 * 1024);
  slowRef = `${proxy.host}/slow:${slow.tag}`;
  bus = await startPrivateBus();
  const dir = makeTempDir('cli-follow');
  const root = await makeRoot(join(dir, 'root'), [
    { name: 'app.image', image: app.reference },
    { name: 'slow.image', image: slowRef },
  ]);
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
  });
});

afterAll(async () => {
  await daemon?.stop();
  await proxy?.stop();
  await bus?.stop();
  await sandbox?.stop();
});

describe('following a running job', () => {
  it('SIGINT stops one follower (exit 130), cancel ends the job for the other (exit 1)', async () => {
    const first = cliInBackground(['upgrade'], { env: bus.env() });
    const id = await pullStarted(first);
    // Same options while it runs: the daemon returns the same job, and this one follows it too.
    const second = cliInBackground(['upgrade'], { env: bus.env() });
    expect(await pullStarted(second)).toBe(id);

    // Other options while it runs: queued behind it.
    const queued = cliInBackground(['upgrade', '--dry-run'], { env: bus.env() });
    await waitUntil('the queued job to say it waits', async () => queued.stdout().includes('waiting'), {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    expect(lines(queued.stdout())).toEqual([
      expect.stringMatching(/^job \d+$/),
      'waiting for the running reconcile to finish',
    ]);
    expect(lines(queued.stdout())[0]).not.toBe(`job ${id}`);

    second.kill('SIGINT');
    expect(await second.exited).toBe(130);
    expect(lines(second.stderr())).toEqual([
      `bound-images: stopped following job ${id}; it keeps running (see 'bound-images status', or 'bound-images cancel ${id}')`,
    ]);
    const status = JSON.parse((await run(['status', '--json'])).stdout) as {
      state: string;
      currentJob: { id: number; state: string; currentImage?: string };
    };
    expect(status.state).toBe('reconciling');
    expect(status.currentJob).toMatchObject({ id, state: 'running' });
    expect((await run(['status'])).stdout).toMatch(
      new RegExp(`^Current job: +job ${id}: running, pull, `, 'm'),
    );

    const c = await run(['cancel', String(id)]);
    expect(c).toMatchObject({ code: 0, stdout: `cancel of job ${id} requested\n`, stderr: '' });
    expect(await first.exited).toBe(1);
    expect(lines(first.stdout()).at(-1)).toBe('cancelled');
    expect(lines(first.stderr())).toEqual([`bound-images: job ${id} cancelled`]);
    // The queued dry run runs once the cancelled job is out of the way.
    expect(await queued.exited).toBe(0);
    expect(lines(queued.stdout())).toEqual(expect.arrayContaining([`would pull ${slowRef}`, 'success']));

    const again = await run(['cancel', String(id), '--json']);
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toEqual([
      expect.stringMatching(/^bound-images: Cancel failed: .*JobFinished/),
    ]);
    expect(JSON.parse(again.stdout)).toMatchObject({ exitCode: 1 });
    const unknown = await run(['cancel', '99999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      'bound-images: no job 99999: the daemon does not know /org/bootc/BoundImages/job/99999\n',
    );
  });

  it('the daemon killed mid-job: the follower says so and exits 3', async () => {
    const follower = cliInBackground(['upgrade', '--json'], { env: bus.env() });
    await waitUntil(
      'the daemon to report a running job',
      async () => {
        const s = JSON.parse((await run(['status', '--json'])).stdout) as {
          currentJob: { phase: string } | null;
        };
        return s.currentJob?.phase === 'pull';
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await daemon.stop('SIGKILL');
    expect(await follower.exited).toBe(3);
    expect(lines(follower.stderr())).toEqual([
      expect.stringMatching(/^bound-images: bound-imaged left the bus while job \d+ was running$/),
    ]);
    expect(JSON.parse(follower.stdout())).toMatchObject({ exitCode: 3 });
    // And with the daemon gone, every command says it cannot reach it.
    const status = await run(['status']);
    expect(status.code).toBe(3);
    expect(status.stderr).toMatch(/^bound-images: bound-imaged is not reachable on the system bus: /);
  });
});
