// `bound-images check`, the built command on temporary roots: a good, a broken, a bootc-incompatible
// and a consumer-warning root; its lines, its JSON document and its exit status (0, 1, 4; 2 for a
// bad command line). It is offline: it runs with the system bus pointing nowhere and loads neither
// dbus-next nor Podman's client.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempRoot, removeTree, writeTree } from '../../scripts/harness/tree-fixture.js';
import { CHECK_ROOTS } from '../../src/lint/check-fixture.js';
import { CLI, cli } from './cli-harness.js';
import { ensureBuilt } from './daemon-harness.js';

const U = '/usr/share/containers/systemd';
// No bus at all: check must not need one.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/check/bus',
};
const run = (args: string[], cwd?: string) => cli(args, { env, timeoutMs: 60_000, ...(cwd ? { cwd } : {}) });

let base: string;
const root = (name: keyof typeof CHECK_ROOTS): string => join(base, name);

beforeAll(async () => {
  await ensureBuilt();
  base = await makeTempRoot('cli-check');
  for (const name of Object.keys(CHECK_ROOTS) as (keyof typeof CHECK_ROOTS)[]) {
    await writeTree(root(name), CHECK_ROOTS[name]);
  }
});

afterAll(async () => {
  if (base !== undefined) await removeTree(base);
});

describe('bound-images check: lines and exit status', () => {
  it('exits 0 on a good root and says ok per entry', async () => {
    const r = await run(['check', '--root', root('good')]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(
      `${root('good')}\n` +
        '  ok       db.image: quay.io/example/db:16\n' +
        '  ok       web.container: quay.io/example/web:3\n' +
        '2 entries: 0 errors, 0 bootc-incompatible, 0 warnings\n',
    );
  });

  it('exits 1 on a broken root, naming file and line', async () => {
    const r = await run(['check', '--root', root('broken')]);
    expect(r).toMatchObject({ code: 1, stderr: '' });
    expect(r.stdout).toContain(`  error    bad.image: ${U}/bad.image:3: empty Image= in section [Image]\n`);
    expect(r.stdout).toContain('  ok       db.image: quay.io/example/db:16\n');
    expect(r.stdout.endsWith('2 entries: 1 error, 0 bootc-incompatible, 0 warnings\n')).toBe(true);
  });

  it('exits 4 on a bootc-incompatible root', async () => {
    const r = await run(['check', '--root', root('bootc')]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      new RegExp(`\\n  bootc    private\\.image: ${U}/private\\.image:3: bootc refuses any AuthFile=`),
    );
    expect(r.stdout).toMatch(
      /\n {2}bootc {4}proxy\.container: .*proxy\.container:2: Image=nginx is a short name/,
    );
    expect(r.stdout.endsWith('2 entries: 0 errors, 2 bootc-incompatible, 0 warnings\n')).toBe(true);
  });

  it('exits 4 on a root whose bound .container would pull its own copy', async () => {
    const r = await run(['check', '--root', root('consumer')]);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain(
      `  warning  web.container: ${U}/web.container: this bound .container has no GlobalArgs=--storage-opt=additionalimagestore=/usr/lib/bootc/storage`,
    );
  });

  it('checks several roots in one run, relative ones from the working directory; an error wins', async () => {
    const r = await run(['check', '--root', 'good', '--root', 'consumer', '--root', 'broken'], base);
    expect(r.code).toBe(1);
    const headers = r.stdout.split('\n').filter((l) => l.startsWith('/'));
    expect(headers).toEqual([root('good'), root('consumer'), root('broken')]);
    expect(r.stdout.endsWith('5 entries: 1 error, 0 bootc-incompatible, 1 warning\n')).toBe(true);
  });

  it('reports a missing root as an error of the root (exit 1)', async () => {
    const r = await run(['check', '--root', join(base, 'missing')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `${join(base, 'missing')}\n  error    (root): root does not exist\n0 entries: 1 error, 0 bootc-incompatible, 0 warnings\n`,
    );
  });
});

describe('bound-images check --json', () => {
  it('prints one document with every root, entry and finding, and the exit status', async () => {
    const r = await run(['check', '--json', '--root', root('bootc'), '--root', root('broken')]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toEqual({
      roots: [
        {
          root: root('bootc'),
          readable: true,
          findings: [],
          entries: [
            {
              entry: 'private.image',
              reference: 'registry.example.com/team/private:1',
              sourceFile: `${U}/private.image`,
              findings: [
                expect.objectContaining({
                  severity: 'bootc',
                  rule: 'auth-file',
                  file: `${U}/private.image`,
                  line: 3,
                }),
              ],
            },
            {
              entry: 'proxy.container',
              reference: 'docker.io/library/nginx:latest',
              sourceFile: `${U}/proxy.container`,
              findings: [expect.objectContaining({ severity: 'bootc', rule: 'short-name', line: 2 })],
            },
          ],
        },
        {
          root: root('broken'),
          readable: true,
          findings: [],
          entries: [
            {
              entry: 'bad.image',
              findings: [
                {
                  severity: 'error',
                  rule: 'invalid',
                  file: `${U}/bad.image`,
                  line: 3,
                  message: 'empty Image= in section [Image]',
                },
              ],
            },
            {
              entry: 'db.image',
              reference: 'quay.io/example/db:16',
              sourceFile: `${U}/db.image`,
              findings: [],
            },
          ],
        },
      ],
      summary: { entries: 4, errors: 1, bootc: 2, warnings: 0 },
      exitCode: 1,
    });
  });
});

describe('bound-images check: a long report into a slow pipe', () => {
  it('writes the whole document before it exits (a full pipe once cut it at 64 KiB)', async () => {
    const big = join(base, 'big');
    const tree: Record<string, { symlink: string } | string> = {};
    for (let i = 0; i < 300; i++) {
      tree[`/usr/lib/bootc/bound-images.d/c${i}.container`] = { symlink: `${U}/c${i}.container` };
      tree[`${U}/c${i}.container`] = '[Container]\nImage=nginx\n';
    }
    await writeTree(big, tree);
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // The reader starts a second late, so the pipe is full while the command finishes.
    const script = `${quote(process.execPath)} ${quote(CLI)} check --json --root ${quote(big)} | { sleep 1; cat; }`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile('sh', ['-c', script], { env, maxBuffer: 64 << 20 }, (err, out) =>
        err ? reject(err) : resolve(out),
      ),
    );
    expect(stdout.length).toBeGreaterThan(65_536);
    const doc = JSON.parse(stdout) as { summary: unknown; exitCode: number };
    expect(doc.summary).toEqual({ entries: 300, errors: 0, bootc: 300, warnings: 300 });
    expect(doc.exitCode).toBe(4);
  });
});

describe('bound-images check: command line and cost', () => {
  it('refuses a bad command line with exit 2 and one line on stderr', async () => {
    const r = await run(['check', '--root']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^bound-images: .*\(see 'bound-images check --help'\)\n$/);
  });

  it('prints its help with the exit statuses', async () => {
    const r = await run(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: bound-images check \[--root DIR\]\.\.\. \[--json\]/);
    expect(r.stdout).toContain('4 no error, but bootc-incompatible entries or warnings');
  });

  it('loads neither dbus-next nor dockerode', async () => {
    const trace = (await cli(['check', '--root', root('good')], { env: { ...env, NODE_DEBUG: 'module' } }))
      .stderr;
    expect(trace).toContain('MODULE'); // the trace works (it lists CommonJS loads)
    expect(trace).not.toContain('dbus-next');
    expect(trace).not.toContain('dockerode');
  });
});
