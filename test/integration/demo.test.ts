// `npm run demo` as CI runs it: dist/scripts/demo.js as a child process, its exit status and output
// checked step by step (pulls, list, the consumer's read-only view, GC removing exactly the unbound
// image, the daemon's journal), twice in a row (idempotence), with --keep (the printed commands work
// as printed; SIGINT tears down), interrupted mid-run (exit 130), failing mid-run (exit 1), and without
// a private journald (the daemon's stderr fallback). After every run the test itself looks for what
// the run could have left: processes carrying the run's marker in their environment, files under the
// run's own TMPDIR, new dirs under /dev/shm/bi-harness, mounts under either.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLine, shellQuote } from '../../scripts/demo/output.js';
import { parseOwnerRecord } from '../../scripts/demo/teardown.js';
import { parseImages } from '../../scripts/demo/store-view.js';
import { ensureBuilt } from './daemon-harness.js';
import {
  esc,
  leftovers,
  match,
  outputOf,
  refsOf,
  runToEnd,
  section,
  sections,
  shimDir,
  startDemo,
  waitForOutput,
  type DemoProcess,
  type Refs,
} from './demo-harness.js';

const IMAGE_REMOVED = '1ccb888fadbd4bb6a7c5d42fc469f489';

const NOTHING_LEFT = { processes: [], files: [], shm: [], mounts: [] };

async function expectNothingLeft(demo: DemoProcess): Promise<void> {
  // The demo has exited; its SIGKILLed children may take a moment to be reaped by init.
  let left = leftovers(demo);
  for (let i = 0; i < 40 && left.processes.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = leftovers(demo);
  }
  // The run's TMPDIR goes either way (unless something is still mounted in it).
  if (left.mounts.length === 0) rmSync(demo.tmp, { recursive: true, force: true });
  expect(left).toEqual(NOTHING_LEFT);
}

function expectConsumerRows(lines: string[], present: string[], absent: string[]): void {
  expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+R\/O$/);
  const rows = lines.slice(1);
  expect(rows).toHaveLength(present.length);
  for (const row of rows) expect(row).toMatch(/\strue$/); // read-only: from the additional store
  for (const ref of present) {
    const [repo, tag] = ref.includes('@') ? [ref.split('@')[0], '<none>'] : ref.split(/:(?=[^:]+$)/);
    expect(rows.some((r) => r.startsWith(`${repo} `) && r.split(/\s+/)[1] === tag)).toBe(true);
  }
  for (const ref of absent)
    expect(rows.some((r) => r.startsWith(`${ref.split(/:(?=[^:]+$)/)[0]} `))).toBe(false);
}

/** Steps 1–5 of a complete run: the claims the output makes, read back from it. */
function checkRun(stdout: string): Refs {
  const refs = refsOf(stdout);
  const titles = [...sections(stdout).keys()];
  expect(titles.map((t) => t.split('.')[0])).toEqual(['1', '2', '3', '4', '5', '6', '7']);

  const root = section(stdout, '2.');
  for (const entry of ['web.image', 'app.container', 'db.container'])
    expect(root).toContain(`usr/lib/bootc/bound-images.d/${entry} -> /usr/share/containers/systemd/${entry}`);
  expect(root).toContain('Image=app.image');
  expect(root).toContain('AuthFile=/etc/containers/demo-auth.json');
  expect(root).toContain('/usr/share/containers/systemd/db.container.d/10-pin.conf:');
  expect(root.match(/^ {2}shows: /gm)).toHaveLength(3);

  const upgrade = outputOf(section(stdout, '3.'), 'bound-images upgrade');
  expect(upgrade[0]).toBe('job 1');
  expect(upgrade).toContain('found 3 bound images');
  expect(upgrade.filter((l) => l.startsWith('pulled ')).sort()).toEqual(
    [refs.web, refs.app, refs.db].map((r) => `pulled ${r}`).sort(),
  );
  expect(upgrade.at(-1)).toBe('success');

  const store = section(stdout, '4.');
  const list = outputOf(store, 'bound-images list');
  expect(list[0]).toMatch(/^STATE\s+REFERENCE\s+SOURCE\s+DETAIL$/);
  for (const [ref, source] of [
    [refs.web, 'web.image'],
    [refs.app, 'app.image'],
    [refs.db, 'db.container'],
  ] as const) {
    expect(list).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^present\\s+${esc(ref)}\\s+/usr/share/containers/systemd/${source}\\s+sha256:[0-9a-f]{64}$`,
        ),
      ),
    );
  }
  expect(list).toHaveLength(4);
  expect(store).toMatch(/^\$ podman .*--storage-opt additionalimagestore=\S+\/store images /m);
  expectConsumerRows(outputOf(store, 'podman'), [refs.web, refs.app, refs.db], []);

  const gc = section(stdout, '5.');
  expect(gc).toMatch(/^\$ rm \S+\/root\/usr\/lib\/bootc\/bound-images\.d\/web\.image$/m);
  const second = outputOf(gc, 'bound-images upgrade');
  expect(second).toEqual(['job 2', 'found 2 bound images', `removed ${refs.web}`, 'success']);
  expect(gc).toContain(`checked: the store lost exactly ${refs.web} `);
  expectConsumerRows(outputOf(gc, 'podman'), [refs.app, refs.db], [refs.web]);
  return refs;
}

/** Step 6 with the private journald: real `journalctl` short lines and the JSON of the removal. */
function checkJournal(stdout: string, refs: Refs): void {
  const log = section(stdout, '6.');
  const short = outputOf(log, 'journalctl');
  const entry = (message: string): RegExp =>
    new RegExp(`^\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d bound-imaged\\[\\d+\\]: ${esc(message)}$`);
  for (const message of [
    'reconcile 1 started: 1 root(s), pull policy missing',
    `pulled ${refs.web}`,
    `pulled ${refs.app}`,
    `pulled ${refs.db}`,
    `removed ${refs.web}`,
    'stopping (SIGTERM)',
  ])
    expect(short).toContainEqual(expect.stringMatching(entry(message)));
  expect(short.filter((l) => / removed /.test(l))).toHaveLength(1);
  const json = log.slice(log.indexOf('{', log.indexOf(`MESSAGE_ID=${IMAGE_REMOVED}`)));
  const removal = JSON.parse(json.slice(0, json.indexOf('\n}') + 2)) as Record<string, string>;
  expect(removal).toMatchObject({ MESSAGE_ID: IMAGE_REMOVED, IMAGE: refs.web, JOB_ID: '2', PRIORITY: '6' });
  expect(removal.IMAGE_ID).toMatch(/^sha256:[0-9a-f]{64}$/);
}

function checkTeardown(stdout: string, heading: string): void {
  const body = section(stdout, heading);
  expect(body).toMatch(/^stopped \d+ processes \(.*podman.*\), removed \d+ temp dirs$/m);
  expect(body).toContain('checked: no process, temp dir or mount of the demo is left');
}

const shims: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
});

afterAll(() => {
  for (const d of shims) rmSync(d, { recursive: true, force: true });
});

describe('npm run demo', () => {
  for (const round of [1, 2]) {
    it(`run ${round} of 2 in a row: exit 0, every step's output, the journal, nothing left behind`, async () => {
      const r = await runToEnd([]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const refs = checkRun(r.stdout);
      expect(r.stdout).toContain('log: a private systemd-journald (own mount namespace)');
      checkJournal(r.stdout, refs);
      checkTeardown(r.stdout, '7.');
      const took = Number(match(r.stdout, /^demo finished in ([\d.]+) s$/m));
      expect(took).toBeLessThan(60);
      expect(r.ms).toBeLessThan(60_000);
      await expectNothingLeft(r.demo);
    });
  }

  it('--keep: the sandbox stays up, every printed command works as printed, SIGINT tears it down (exit 0)', async () => {
    const demo = startDemo(['--keep']);
    try {
      await waitForOutput(demo, 'press Ctrl-C to tear the sandbox down');
    } catch (e) {
      demo.kill('SIGKILL');
      throw e;
    }
    const stdout = demo.stdout();
    const refs = refsOf(stdout);
    expect(section(stdout, '6.')).toContain(`removed ${refs.web}`); // the log, daemon still running
    const keep = section(stdout, '7. The sandbox stays up');
    const lines = keep.split('\n').filter((l) => l.startsWith('  ') && !l.startsWith('  #'));
    const [exportLine, ...commands] = lines.map((l) => l.slice(2));
    expect(exportLine).toMatch(/^export DBUS_SYSTEM_BUS_ADDRESS=unix:path=\S+\/bus$/);
    const outputs = new Map<string, string>();
    for (const command of commands) {
      if (/ -f$/.test(command)) continue; // follows the log forever
      // From another directory, as another shell would: the lines must not depend on the demo's cwd.
      const out = execFileSync('bash', ['-c', `${exportLine}\n${command}`], {
        cwd: '/',
        encoding: 'utf8',
        env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: '' },
        timeout: 60_000,
      });
      outputs.set(command, out);
    }
    const find = (re: RegExp): string => {
      const key = [...outputs.keys()].find((k) => re.test(k));
      if (key === undefined) throw new Error(`no command ${re} in:\n${keep}`);
      return outputs.get(key) ?? '';
    };
    expect(find(/cli\/main\.js status$/)).toContain('Last result:    success');
    expect(find(/cli\/main\.js list$/)).not.toContain(refs.web);
    expect(find(/cli\/main\.js upgrade$/)).toContain(`pulled ${refs.web}`); // after `ln -s` re-bound it
    expect(find(/upgrade --dry-run --pull-policy always$/)).toContain('found 3 bound images');
    expect(find(/get-property .* LastResult$/)).toBe('s "success"\n');
    expect(find(/ListBoundImages$/)).toMatch(/^a\(ssss\) 3 /);
    expect(find(/Upgrade 'a\{sv\}' 0$/)).toMatch(/^o "\/org\/bootc\/BoundImages\/job\/\d+"\n$/);
    expect(find(/^podman .* images$/)).toContain(refs.web.split(':1.0')[0]);

    demo.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    checkTeardown(demo.stdout(), '8. Teardown (SIGINT)');
    await expectNothingLeft(demo);
  });

  it('Ctrl-C in the middle of the run: everything is torn down at once, exit 130', async () => {
    const demo = startDemo([]);
    await waitForOutput(demo, '$ bound-images upgrade\n');
    demo.kill('SIGINT');
    expect(await demo.exited).toBe(130);
    expect(demo.stdout()).toContain('== Interrupted (SIGINT): tearing down ==');
    checkTeardown(demo.stdout(), 'Interrupted (SIGINT)');
    expect(demo.stdout()).toMatch(/^demo interrupted after [\d.]+ s$/m);
    await expectNothingLeft(demo);
  });

  it('a failure mid-run (the consumer Podman fails) tears everything down, exit 1', async () => {
    const podman = execFileSync('sh', ['-c', 'command -v podman'], { encoding: 'utf8' }).trim();
    const shim = shimDir(
      'podman',
      `#!/bin/bash\nfor a in "$@"; do\n  case "$a" in additionalimagestore=*) echo "podman: injected failure" >&2; exit 125;; esac\ndone\nexec -a podman ${shellQuote(podman)} "$@"\n`,
    );
    shims.push(shim);
    const r = await runToEnd([], { pathPrefix: shim });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('\nsuccess\n'); // the upgrade before it went through
    expect(r.stderr).toMatch(/^demo: failed: .*podman: injected failure/ms);
    checkTeardown(r.stdout, 'Failed: tearing down');
    expect(r.stdout).toMatch(/^demo failed after [\d.]+ s$/m);
    await expectNothingLeft(r.demo);
  });

  it('without a private journald (unshare fails) the daemon falls back, and its lines are shown', async () => {
    const shim = shimDir('unshare', '#!/bin/sh\necho "unshare: injected failure" >&2\nexit 1\n');
    shims.push(shim);
    const r = await runToEnd([], { pathPrefix: shim });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const refs = checkRun(r.stdout);
    expect(r.stdout).toMatch(/^log: no private journald \(.*unshare: injected failure.*\)/m);
    const log = section(r.stdout, '6.');
    if (log.includes('$ cat ')) {
      // No journald on the host either: sd-daemon(3) style lines on stderr.
      const lines = outputOf(log, 'cat');
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^<6>removed ${esc(refs.web)} `)));
      expect(lines.filter((l) => l.startsWith('<6>pulled '))).toHaveLength(3);
      expect(lines).toContainEqual(expect.stringMatching(/^<5>stopping \(SIGTERM\)/));
    } else {
      // The host runs journald: the daemon's entries are read from it by _PID.
      expect(outputOf(log, 'journalctl')).toContainEqual(expect.stringContaining(`removed ${refs.web}`));
    }
    checkTeardown(r.stdout, '7.');
    await expectNothingLeft(r.demo);
  });

  it('--help prints the usage; an unknown argument is a usage error (exit 2) before anything starts', async () => {
    const help = await runToEnd(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run demo \[-- --keep\]/);
    await expectNothingLeft(help.demo);
    const bad = await runToEnd(['--kepp']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^demo: unknown argument '--kepp'\nusage:/);
    expect(bad.stdout).toBe('');
    await expectNothingLeft(bad.demo);
  });
});

describe('demo helpers', () => {
  it('shellQuote/commandLine give lines a shell splits back into the same argv', () => {
    const argv = ['busctl', 'call', 'a{sv}', "it's", '', 'plain/path:1', 'two words', '$HOME', 'a;b'];
    const printed = commandLine(argv);
    const back = execFileSync(
      'sh',
      ['-c', `for a in ${printed.slice('busctl '.length)}; do printf '%s\\n' "[$a]"; done`],
      {
        encoding: 'utf8',
      },
    );
    expect(back.trim().split('\n')).toEqual(argv.slice(1).map((a) => `[${a}]`));
    expect(shellQuote('unix:path=/tmp/x/bus')).toBe('unix:path=/tmp/x/bus');
  });

  it('parseOwnerRecord accepts the harness record and refuses anything else', () => {
    expect(
      parseOwnerRecord(
        '{"pid":1,"startTime":"9","children":[{"pid":2,"cmdline":"a\\u0000"}],"dirs":["/x"]}',
        'f',
      ),
    ).toEqual({
      processes: [{ pid: 2, cmdline: 'a\0' }],
      dirs: ['/x'],
    });
    expect(() => parseOwnerRecord('{"children":[],"dirs":[1]}', 'f')).toThrow(
      /f: not a harness owner record/,
    );
    expect(() => parseOwnerRecord('{"children":[{"pid":"2"}],"dirs":[]}', 'f')).toThrow(/children\[0\]/);
  });

  it('parseImages reads podman images --format json, including read-only images', () => {
    const images = parseImages(
      '[{"Id":"abc","RepoTags":["r/a:1"],"RepoDigests":["r/a@sha256:1"],"ReadOnly":true},{"Id":"def","Names":["r/b:2"]}]',
    );
    expect(images).toEqual([
      { id: 'abc', tags: ['r/a:1'], digests: ['r/a@sha256:1'], readOnly: true },
      { id: 'def', tags: ['r/b:2'], digests: [], readOnly: false },
    ]);
    expect(parseImages('')).toEqual([]);
    expect(() => parseImages('{}')).toThrow(/expected an array/);
  });
});
