// bound-images against the real daemon, a real Podman store and a loopback registry on a private
// system bus: upgrade in pipe mode (plain lines), --json, on a terminal (a pty from `script`: the
// progress bar), --dry-run, --no-gc, --root, --no-wait; status and list as text and JSON; a failing
// reconcile (exit 1); a non-root caller (exit 3, AccessDenied) who can still read. Following a long job
// (cancel, interrupt, the daemon dying) is in cli-follow.test.ts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import { cli, cliOnTerminal, lines, type CliResult } from './cli-harness.js';
import { NOBODY, makeRoot, setEntries } from './daemon-harness.js';
import { storeNames } from './reconcile-harness.js';
import { startUpgradeFixture, type UpgradeFixture } from './upgrade-fixture.js';

let sandbox: Sandbox;
let bus: PrivateBus;
let dir: string;
let root: string;
let app: MadeImage;
let db: MadeImage;
let extra: MadeImage;

function run(args: string[], opts: { uid?: number; cwd?: string } = {}): Promise<CliResult> {
  return cli(args, { env: bus.env(), ...opts });
}

let fixture: UpgradeFixture | undefined;

beforeAll(async () => {
  fixture = await startUpgradeFixture('cli-upgrade');
  ({ sandbox, bus, dir, root, app, db, extra } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

describe('before the first reconcile', () => {
  it('status says so, as text and as JSON', async () => {
    const text = await run(['status']);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain('State:          idle\n');
    expect(text.stdout).toContain('Last result:    (none yet)\n');
    expect(text.stdout).toContain('Last reconcile: never\n');
    expect(text.stdout).toContain(`Roots:          ${root}\n`);
    expect(text.stdout).toContain(`Store:          ${sandbox.podman.storePath}\n`);
    expect(text.stdout).toContain('Staged:         none\n');
    const json = await run(['status', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      state: 'idle',
      lastResult: null,
      lastReconcileTime: null,
      roots: [root],
      storePath: sandbox.podman.storePath,
      version: expect.any(String),
      currentJob: null,
      staged: null,
    });
  });

  it('list shows both images missing', async () => {
    const r = await run(['list']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^STATE\s+REFERENCE\s+SOURCE\s+DETAIL$/);
    expect(r.stdout).toMatch(
      new RegExp(`^missing\\s+${app.reference}\\s+/usr/share/containers/systemd/app.image$`, 'm'),
    );
    expect(r.stdout).toMatch(
      new RegExp(`^missing\\s+${db.reference}\\s+/usr/share/containers/systemd/db.container$`, 'm'),
    );
  });
});

describe('upgrade in a pipe', () => {
  it('prints one plain line per event, ends with success, exits 0, and the images are in the store', async () => {
    const r = await run(['upgrade']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^job \d+$/);
    expect(out).toContain('found 2 bound images');
    expect(out).not.toContain('waiting for the running reconcile to finish'); // nothing else ran
    expect(out).toContain(`pulled ${app.reference}`);
    expect(out).toContain(`pulled ${db.reference}`);
    for (const l of out.filter((x) => x.startsWith('pulling '))) {
      expect(l).toMatch(new RegExp(`^pulling [12]/2 (${app.reference}|${db.reference})$`));
    }
    expect(out.at(-1)).toBe('success');
    expect(r.stdout).not.toContain('\u001b'); // no terminal escapes in a pipe
    expect((await storeNames(sandbox.podman)).sort()).toEqual([app.reference, db.reference].sort());
  });

  it('status and list then show the result, as text and JSON', async () => {
    const status = await run(['status']);
    expect(status.stdout).toContain('Last result:    success\n');
    expect(status.stdout).toMatch(/^Last reconcile: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ s ago\)$/m);
    const sj = JSON.parse((await run(['status', '--json'])).stdout) as Record<string, unknown>;
    expect(sj).toMatchObject({ state: 'idle', lastResult: 'success', currentJob: null });
    expect(Math.abs(Date.parse(sj.lastReconcileTime as string) - Date.now())).toBeLessThan(120_000);

    const list = await run(['list']);
    expect(list.stdout).toMatch(
      new RegExp(`^present\\s+${app.reference}\\s+\\S+app.image\\s+sha256:[0-9a-f]{64}$`, 'm'),
    );
    const lj = JSON.parse((await run(['list', '--json'])).stdout) as { images: Record<string, string>[] };
    expect(lj.images.map((i) => i.state)).toEqual(['present', 'present']);
    expect(lj.images.map((i) => i.reference).sort()).toEqual([app.reference, db.reference].sort());
    for (const i of lj.images) expect(i.detail).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('--json prints exactly one JSON document, the finished job', async () => {
    const r = await run(['upgrade', '--json']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      state: 'success',
      result: 'success',
      phase: 'done',
      imagesTotal: 2,
      imagesDone: 2,
      progress: 1,
      pulled: [],
      removed: [],
      errors: [],
      gcSkipped: null,
      startedByUid: 0,
      options: { 'pull-policy': 'missing', 'dry-run': false, gc: true },
    });
    expect(doc.job).toBe(`/org/bootc/BoundImages/job/${String(doc.id)}`);
  });
});

describe('upgrade options', () => {
  it('--dry-run shows what GC would remove and removes nothing', async () => {
    await setEntries(root, [{ name: 'app.image', image: app.reference }]);
    const r = await run(['upgrade', '--dry-run']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toContain(`would remove ${db.reference}`);
    expect(lines(r.stdout).at(-1)).toBe('success');
    expect(await storeNames(sandbox.podman)).toContain(db.reference);
  });

  it('--no-gc keeps it and says why GC was skipped', async () => {
    const r = await run(['upgrade', '--no-gc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gc skipped: .+$/m);
    expect(await storeNames(sandbox.podman)).toContain(db.reference);
  });

  it('a plain upgrade then removes it', async () => {
    const r = await run(['upgrade']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toContain(`removed ${db.reference}`);
    expect(await storeNames(sandbox.podman)).toEqual([app.reference]);
  });

  it('--root (relative to the working directory) reconciles towards that root too', async () => {
    await makeRoot(join(dir, 'staged'), [{ name: 'extra.image', image: extra.reference }]);
    const r = await run(['upgrade', '--root', 'staged', '--pull-policy', 'always'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toContain(`pulled ${extra.reference}`);
    expect(lines(r.stdout)).toContain(`pulled ${app.reference}`); // always: pulled again
    expect(await storeNames(sandbox.podman)).toContain(extra.reference);
    expect((await run(['status'])).stdout).toContain(`Roots:          ${root} ${join(dir, 'staged')}\n`);
  });

  it('--root that does not exist is refused by the daemon: exit 2 with its reason', async () => {
    const r = await run(['upgrade', '--root', join(dir, 'nope')]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^bound-images: Upgrade: .*does not exist/)]);
  });

  it('--no-wait prints the job and returns; the job runs on', async () => {
    const r = await run(['upgrade', '--no-wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^job \d+\n$/);
    const j = await run(['upgrade', '--no-wait', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({
      job: expect.stringMatching(/^\/org\/bootc\/BoundImages\/job\/\d+$/),
      id: expect.any(Number),
    });
    await waitUntil(
      'the daemon to be idle',
      async () => JSON.parse((await run(['status', '--json'])).stdout).state === 'idle',
      {
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    );
  });
});

describe('upgrade on a terminal', () => {
  it('draws a progress bar, prints the pulls above it, and ends with a summary', async () => {
    await sandbox.podman.podman(['rmi', '-f', app.reference]);
    const r = await cliOnTerminal(['upgrade'], { env: bus.env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[[█░]{30}\] +\d+% \| \d+\/\d+ images/); // the bar
    expect(r.stdout).toContain('[██████████████████████████████] 100% | 2/2 images');
    expect(r.stdout).toContain('\u001b['); // drawn with terminal escapes
    expect(r.stdout).toContain(`pulled ${app.reference}\r\n`);
    expect(r.stdout).toMatch(/success \(1 image pulled, 0 removed\)\r\n$/);
    expect(await storeNames(sandbox.podman)).toContain(app.reference);
  });
});

describe('failures', () => {
  it('a bound image whose registry is stopped: exit 1, the error, "failed: …" last, one line on stderr', async () => {
    const gone = `127.0.0.1:${await freePort()}/gone:1`;
    await setEntries(root, [
      { name: 'app.image', image: app.reference },
      { name: 'gone.image', image: gone },
    ]);
    const r = await run(['upgrade']);
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out).toContainEqual(expect.stringMatching(new RegExp(`^error: ${gone}: .+`)));
    expect(out.at(-1)).toMatch(/^failed: .+/);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^bound-images: job \d+ failed: .+/)]);

    const j = await run(['upgrade', '--json']);
    expect(j.code).toBe(1);
    const doc = JSON.parse(j.stdout) as {
      state: string;
      errors: { subject: string }[];
      gcSkipped: string | null;
    };
    expect(doc.state).toBe('failed');
    expect(doc.errors.map((e) => e.subject)).toContain(gone);
    expect(doc.gcSkipped).not.toBeNull();
    expect((await run(['status'])).stdout).toMatch(/^Last result: {4}failed: .+$/m);
    await setEntries(root, [{ name: 'app.image', image: app.reference }]);
  });

  it('a non-root caller gets AccessDenied for upgrade and cancel (exit 3) but can read', async () => {
    const up = await run(['upgrade'], { uid: NOBODY });
    expect(up.code).toBe(3);
    expect(lines(up.stderr)).toEqual([expect.stringMatching(/^bound-images: Upgrade: access denied: .+/)]);
    const jsonUp = await run(['upgrade', '--json'], { uid: NOBODY });
    expect(jsonUp.code).toBe(3);
    expect(JSON.parse(jsonUp.stdout)).toEqual({
      error: expect.stringContaining('access denied'),
      exitCode: 3,
    });
    const cancel = await run(['cancel', '1'], { uid: NOBODY });
    expect(cancel.code).toBe(3);
    expect(cancel.stderr).toContain('access denied');
    const status = await run(['status'], { uid: NOBODY });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('State:');
    expect((await run(['list', '--json'], { uid: NOBODY })).code).toBe(0);
  });
});
