// bound-images when it cannot do its job: no bus at the address (exit 3), a bus without the daemon
// (exit 3), a bad command line (exit 2, decided before any bus is touched), --help per command; each
// failure with exactly one line on stderr and, with --json, one JSON document on stdout. Also: what
// it loads — --help and usage errors never load dbus-next, only a terminal loads cli-progress.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { cli } from './cli-harness.js';
import { ensureBuilt } from './daemon-harness.js';

const NOWHERE = 'unix:path=/nonexistent/bound-images-test/bus';

const run = (args: string[], env: NodeJS.ProcessEnv) => cli(args, { env, timeoutMs: 60_000 });

const nowhere = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  DBUS_SYSTEM_BUS_ADDRESS: NOWHERE,
  ...extra,
});

let bus: PrivateBus;

beforeAll(async () => {
  await ensureBuilt();
  bus = await startPrivateBus();
});

afterAll(async () => {
  await bus?.stop();
});

const COMMANDS = [['status'], ['list'], ['upgrade'], ['upgrade', '--dry-run'], ['cancel', '3']];

describe('exit 3: the daemon cannot be reached', () => {
  it.each(COMMANDS)('%s with DBUS_SYSTEM_BUS_ADDRESS pointing nowhere', async (...args) => {
    const r = await run(args, nowhere());
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `bound-images: cannot connect to the system bus at ${NOWHERE}: connect ENOENT /nonexistent/bound-images-test/bus\n`,
    );
  });

  it('--json adds the reason as one JSON document on stdout', async () => {
    const r = await run(['list', '--json'], nowhere());
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({
      error: expect.stringContaining('cannot connect to the system bus'),
      exitCode: 3,
    });
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it.each(COMMANDS)('%s on a bus where no one owns org.bootc.BoundImages', async (...args) => {
    const r = await run(args, bus.env());
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^bound-images: bound-imaged is not reachable on the system bus: .*org\.freedesktop\.DBus\.Error\.ServiceUnknown\)\n$/,
    );
  });
});

describe('exit 2: usage errors, found before the bus is touched', () => {
  it.each([
    [['upgrade', '--bogus'], "Unknown option '--bogus'"],
    [['upgrade', '--pull-policy', 'sometimes'], '--pull-policy must be one of missing, always, newer'],
    [['upgrade', '--root'], "Option '--root <value>' argument missing"],
    [['status', 'extra'], "'status' takes no arguments"],
    [['cancel'], "'cancel' needs a JOB"],
    [['cancel', 'x'], 'JOB must be a job number'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [[], 'no command given'],
  ])('%j', async (args, reason) => {
    const r = await run(args, nowhere());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const errLines = r.stderr.split('\n').filter(Boolean);
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toContain(reason);
    expect(errLines[0]).toMatch(/^bound-images: .*\(see 'bound-images( \w+)? --help'\)$/);
  });

  it('with --json, the usage error is also a JSON document', async () => {
    const r = await run(['upgrade', '--json', '--bogus'], nowhere());
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 2 });
  });
});

describe('--help', () => {
  it.each([
    [['--help'], 'usage: bound-images COMMAND'],
    [['status', '--help'], 'usage: bound-images status'],
    [['list', '-h'], 'usage: bound-images list'],
    [['upgrade', '--help'], 'usage: bound-images upgrade [--root PATH]'],
    [['cancel', '--help'], 'usage: bound-images cancel JOB'],
  ])('%j prints the usage on stdout and exits 0 without a bus', async (args, head) => {
    const r = await run(args, nowhere());
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.startsWith(head)).toBe(true);
  });
});

describe('start-up cost (the timer runs the client hourly)', () => {
  const loaded = async (args: string[], env: NodeJS.ProcessEnv): Promise<string> =>
    (await run(args, { ...env, NODE_DEBUG: 'module' })).stderr;

  it('--help and usage errors do not load dbus-next or cli-progress', async () => {
    for (const args of [['--help'], ['upgrade', '--bogus']]) {
      const trace = await loaded(args, nowhere());
      expect(trace).not.toContain('dbus-next');
      expect(trace).not.toContain('cli-progress');
    }
  });

  it('a command loads dbus-next, but cli-progress only on a terminal', async () => {
    const trace = await loaded(['status'], bus.env());
    expect(trace).toContain('dbus-next');
    expect(trace).not.toContain('cli-progress');
  });
});
