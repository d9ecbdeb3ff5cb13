// bound-images' tables and conventions against the real daemon on a private bus, with Podman down
// (its socket path does not exist) and then hanging (a socket that accepts and never answers):
//  - `list` still shows the declared bindings, state `unknown` with the reason, and exits 1;
//  - `jobs` lists the Job objects (a failed one, then a running one), as a table and as JSON;
//  - `--no-legend` leaves out the headings, `--no-pager` the pager, which is used on a terminal only;
//  - `--version`; the bash completion offers the running job to `cancel`.
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { run as runProcess, waitUntil } from '../../scripts/harness/proc.js';
import { cli, cliOnTerminal, lines, type CliResult } from './cli-harness.js';
import {
  NOBODY,
  REPO,
  ensureBuilt,
  makeRoot,
  startDaemon,
  waitForJobEnd,
  type DaemonProcess,
} from './daemon-harness.js';

const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const APP = '127.0.0.1:1/example/app:1';
const DB = '127.0.0.1:1/example/db:2';

let bus: PrivateBus;
let daemon: DaemonProcess;
let dir: string;
let root: string;
let socketPath: string;
let silent: Server | undefined;
const held: Socket[] = [];

function run(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return cli(args, {
    env: { ...bus.env(), ...opts.env },
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
  });
}

beforeAll(async () => {
  await ensureBuilt();
  bus = await startPrivateBus();
  dir = makeTempDir('cli-tables');
  socketPath = join(dir, 'podman.sock');
  root = await makeRoot(join(dir, 'root'), [
    { name: 'app.image', image: APP },
    { name: 'db.container', image: DB },
  ]);
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: join(dir, 'store'),
    podmanSocket: socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
  });
});

afterAll(async () => {
  for (const s of held) s.destroy();
  silent?.close();
  await daemon?.stop();
  await bus?.stop();
});

describe('--version', () => {
  it('prints the client version and exits 0, without a bus', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag], {
        env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent' },
      });
      expect(r).toMatchObject({ code: 0, stdout: `bound-images ${VERSION}\n`, stderr: '' });
    }
  });
});

describe('list while Podman is down', () => {
  it('shows every binding with state unknown and the reason, and exits 1 with one line on stderr', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^STATE\s+REFERENCE\s+SOURCE\s+DETAIL$/);
    expect(out).toHaveLength(3);
    for (const [ref, source] of [
      [APP, '/usr/share/containers/systemd/app.image'],
      [DB, '/usr/share/containers/systemd/db.container'],
    ]) {
      expect(r.stdout).toMatch(
        new RegExp(`^unknown\\s+${ref}\\s+${source}\\s+cannot list the store: .*${socketPath}`, 'm'),
      );
    }
    expect(r.stderr).toMatch(
      /^bound-images: the states are unknown: cannot list the store: .*Podman API socket .* does not exist/,
    );
    expect(lines(r.stderr)).toHaveLength(1);
  });

  it('--json: the rows with state unknown, exit 1', async () => {
    const r = await run(['list', '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { images: { state: string; reference: string }[] };
    expect(doc.images.map((i) => [i.reference, i.state]).sort()).toEqual([
      [APP, 'unknown'],
      [DB, 'unknown'],
    ]);
  });

  it('--no-legend: the rows only', async () => {
    const r = await run(['list', '--no-legend']);
    expect(r.code).toBe(1);
    expect(lines(r.stdout).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['unknown', APP],
      ['unknown', DB],
    ]);
  });

  it('any user may read it', async () => {
    const r = await run(['list', '--no-legend'], { uid: NOBODY });
    expect(r.code).toBe(1);
    expect(lines(r.stdout)).toHaveLength(2);
  });
});

describe('jobs', () => {
  it('before any job: "no jobs", or nothing with --no-legend; JSON: an empty list', async () => {
    expect(await run(['jobs'])).toMatchObject({ code: 0, stdout: 'no jobs\n', stderr: '' });
    expect(await run(['jobs', '--no-legend'])).toMatchObject({ code: 0, stdout: '' });
    const json = await run(['jobs', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ jobs: [] });
  });

  it('a finished job stays listed: id, state, phase, start, uid and result', async () => {
    const started = await run(['upgrade', '--no-wait']);
    const id = /^job (\d+)$/.exec(started.stdout.trim())?.[1];
    expect(id).toBeDefined();
    expect(await waitForJobEnd(bus, `/org/bootc/BoundImages/job/${id}`)).toContain('failed');
    const r = await run(['jobs']);
    expect(r.code).toBe(0);
    const [head, row, ...rest] = lines(r.stdout);
    expect(head).toMatch(/^ID\s+STATE\s+PHASE\s+IMAGES\s+STARTED\s+UID\s+RESULT$/);
    expect(row).toMatch(
      new RegExp(
        `^${id}\\s+failed\\s+done\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+0\\s+failed: .*${socketPath}`,
      ),
    );
    expect(rest).toEqual([]);
    const json = JSON.parse((await run(['jobs', '--json'], { uid: NOBODY })).stdout) as {
      jobs: { id: number; state: string; errors: unknown[] }[];
    };
    expect(json.jobs.map((j) => [j.id, j.state])).toEqual([[Number(id), 'failed']]);
  });

  it('a running job is listed as running; completion offers it to cancel; cancelled, it is listed so', async () => {
    // Podman "hangs": the socket accepts and never answers, so the next job keeps running.
    silent = createServer((s) => held.push(s));
    await new Promise<void>((resolve) => silent?.listen(socketPath, resolve));
    const started = await run(['upgrade', '--no-wait']);
    const id = /^job (\d+)$/.exec(started.stdout.trim())?.[1] ?? '';
    await waitUntil('the job to reach the store', () => Promise.resolve(held.length > 0), {
      timeoutMs: 10_000,
    });

    const r = await run(['jobs', '--no-legend']);
    const rows = lines(r.stdout).map((l) => l.split(/\s+/));
    expect(rows.map((c) => [c[0], c[1]])).toEqual([
      [String(Number(id) - 1), 'failed'],
      [id, 'running'],
    ]);

    const completion = await runProcess(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        `source ${join(REPO, 'scripts/completion/bound-images.bash')}
         bound-images() { ${process.execPath} ${join(REPO, 'dist/src/cli/main.js')} "$@"; }
         COMP_WORDS=(bound-images cancel ''); COMP_CWORD=2; _bound_images; echo "[\${COMPREPLY[*]}]"`,
      ],
      { env: { ...process.env, ...bus.env() } },
    );
    expect(completion.stdout).toBe(`[${id}]\n`);

    expect((await run(['cancel', id])).code).toBe(0);
    // The daemon does not abort a store request in flight on Cancel: it waits for its answer (about
    // 27 s here before it gives up). Hang up, as a Podman restart would, so the job ends now.
    for (const s of held) s.destroy();
    expect(await waitForJobEnd(bus, `/org/bootc/BoundImages/job/${id}`)).toContain('cancelled');
    const after = lines((await run(['jobs', '--no-legend'])).stdout).map((l) => l.split(/\s+/).slice(0, 2));
    expect(after.at(-1)).toEqual([id, 'cancelled']);
  });
});

describe('the pager, on a terminal only', () => {
  const pager = { BOUND_IMAGES_PAGER: 'sed "s/^/PAGED:/"' };

  it('a table on a terminal goes through the pager', async () => {
    const r = await cliOnTerminal(['jobs'], { env: { ...bus.env(), ...pager } });
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\r/g, '')).toMatch(/^PAGED:ID\s+STATE/m);
  });

  it('--no-pager, or stdout not a terminal: no pager', async () => {
    const onTerminal = await cliOnTerminal(['jobs', '--no-pager'], { env: { ...bus.env(), ...pager } });
    expect(onTerminal.stdout.replace(/\r/g, '')).toMatch(/^ID\s+STATE/m);
    expect(onTerminal.stdout).not.toContain('PAGED:');
    const piped = await run(['jobs'], { env: pager });
    expect(piped.stdout).toMatch(/^ID\s+STATE/);
  });

  it('JSON never goes through the pager', async () => {
    const r = await cliOnTerminal(['jobs', '--json'], { env: { ...bus.env(), ...pager } });
    expect(r.stdout).not.toContain('PAGED:');
    expect(JSON.parse(r.stdout.replace(/\r/g, ''))).toHaveProperty('jobs');
  });
});
