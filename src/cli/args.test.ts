import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseJobArgument, UsageError } from './args.js';
import { ExitCode } from './cli-error.js';

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, '/work');
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('reads status and list with and without --json', () => {
    expect(parseCommandLine(['status'])).toEqual({ kind: 'status', json: false });
    expect(parseCommandLine(['status', '--json'])).toEqual({ kind: 'status', json: true });
    expect(parseCommandLine(['list'])).toEqual({ kind: 'list', json: false, legend: true, pager: true });
    expect(parseCommandLine(['list', '--json'])).toEqual({
      kind: 'list',
      json: true,
      legend: true,
      pager: true,
    });
  });

  it('reads the table commands with --no-legend and --no-pager, in any order', () => {
    expect(parseCommandLine(['jobs'])).toEqual({ kind: 'jobs', json: false, legend: true, pager: true });
    expect(parseCommandLine(['list', '--no-pager', '--no-legend'])).toEqual({
      kind: 'list',
      json: false,
      legend: false,
      pager: false,
    });
    expect(parseCommandLine(['jobs', '--no-legend', '--json'])).toEqual({
      kind: 'jobs',
      json: true,
      legend: false,
      pager: true,
    });
  });

  it('--version and -V, alone', () => {
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(parseCommandLine(['-V'])).toEqual({ kind: 'version' });
    expect(() => parseCommandLine(['--version', 'list'])).toThrow(/--version takes no arguments, got 'list'/);
    expect(() => parseCommandLine(['status', '--no-legend'])).toThrow(/Unknown option '--no-legend'/);
  });

  it('reads upgrade with its defaults', () => {
    expect(parseCommandLine(['upgrade'])).toEqual({
      kind: 'upgrade',
      json: false,
      dryRun: false,
      gc: true,
      wait: true,
    });
  });

  it('reads every upgrade flag', () => {
    expect(
      parseCommandLine(
        [
          'upgrade',
          '--root',
          '/sysroot/x',
          '--pull-policy',
          'always',
          '--dry-run',
          '--no-gc',
          '--no-wait',
          '--json',
        ],
        '/',
      ),
    ).toEqual({
      kind: 'upgrade',
      json: true,
      root: '/sysroot/x',
      pullPolicy: 'always',
      dryRun: true,
      gc: false,
      wait: false,
    });
    expect(parseCommandLine(['upgrade', '--root=/a', '--pull-policy=newer'])).toMatchObject({
      root: '/a',
      pullPolicy: 'newer',
    });
  });

  it('resolves a relative --root against the working directory', () => {
    expect(parseCommandLine(['upgrade', '--root', 'staged/../deploy'], '/sysroot')).toMatchObject({
      root: '/sysroot/deploy',
    });
  });

  it('reads cancel with a number or a job path', () => {
    expect(parseCommandLine(['cancel', '7'])).toEqual({
      kind: 'cancel',
      json: false,
      job: '/org/bootc/BoundImages/job/7',
    });
    expect(parseCommandLine(['cancel', '/org/bootc/BoundImages/job/12', '--json'])).toEqual({
      kind: 'cancel',
      json: true,
      job: '/org/bootc/BoundImages/job/12',
    });
  });

  it("answers --help and -h per command and overall, with that command's text", () => {
    for (const cmd of ['status', 'list', 'jobs', 'upgrade', 'cancel']) {
      for (const flag of ['--help', '-h']) {
        const c = parseCommandLine([cmd, flag]);
        expect(c.kind).toBe('help');
        if (c.kind === 'help') expect(c.text).toContain(`usage: bound-images ${cmd}`);
      }
    }
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const c = parseCommandLine(argv);
      expect(c.kind === 'help' && c.text.startsWith('usage: bound-images COMMAND')).toBe(true);
    }
    const c = parseCommandLine(['help', 'upgrade']);
    expect(c.kind === 'help' && c.text.includes('--pull-policy')).toBe(true);
  });

  it('--help wins over other flags but not over unknown ones (strict)', () => {
    expect(parseCommandLine(['upgrade', '--dry-run', '--help']).kind).toBe('help');
    expect(usageError(['upgrade', '--help', '--bogus']).message).toContain("'--bogus'");
  });

  it.each([
    [[], 'no command given'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['--json', 'status'], "the command comes first, got option '--json'"],
    [['status', '--bogus'], "Unknown option '--bogus'"],
    [['status', 'now'], "'status' takes no arguments, got 'now'"],
    [['list', '-x'], "Unknown option '-x'"],
    [['upgrade', '--root'], "Option '--root <value>' argument missing"],
    [['upgrade', '--root', ''], '--root needs a path'],
    [['upgrade', '--root', '--dry-run'], "Option '--root' argument is ambiguous"],
    [
      ['upgrade', '--pull-policy', 'sometimes'],
      "--pull-policy must be one of missing, always, newer, got 'sometimes'",
    ],
    [['upgrade', '--dry-run=yes'], "Option '--dry-run' does not take an argument"],
    [['upgrade', '--gc'], "Unknown option '--gc'"],
    [['upgrade', 'now'], "'upgrade' takes no arguments, got 'now'"],
    [['cancel'], "'cancel' needs a JOB"],
    [['cancel', '1', '2'], "'cancel' takes one JOB, got also '2'"],
    [['cancel', '0'], 'JOB must be a job number'],
    [['cancel', '/org/bootc/BoundImages/job/x'], 'JOB must be a job number'],
  ])('%j is a usage error: %s', (argv, reason) => {
    const err = usageError(argv);
    expect(err.code).toBe(ExitCode.Usage);
    expect(err.message).toContain(reason);
    expect(err.message).not.toContain('\n');
  });

  it('points a usage error at the help of the command concerned', () => {
    expect(usageError(['upgrade', '--bogus']).message).toMatch(/\(see 'bound-images upgrade --help'\)$/);
    expect(usageError(['list', 'x']).message).toMatch(/\(see 'bound-images list --help'\)$/);
    expect(usageError(['nope']).message).toMatch(/\(see 'bound-images --help'\)$/);
  });
});

describe('parseCommandLine: check', () => {
  it('checks / by default, and every --root in order, made absolute against the working directory', () => {
    expect(parseCommandLine(['check'], '/work')).toEqual({ kind: 'check', json: false, roots: ['/'] });
    expect(parseCommandLine(['check', '--root', 'img', '--json', '--root=/srv/b'], '/work')).toEqual({
      kind: 'check',
      json: true,
      roots: ['/work/img', '/srv/b'],
    });
  });

  it('refuses an empty --root, arguments and unknown options, pointing at its help', () => {
    expect(usageError(['check', '--root', '']).message).toMatch(
      /^--root needs a path \(see 'bound-images check --help'\)$/,
    );
    expect(usageError(['check', '/srv/a']).message).toMatch(/^'check' takes no arguments, got '\/srv\/a'/);
    expect(usageError(['check', '--root']).code).toBe(ExitCode.Usage);
    expect(usageError(['check', '--pull-policy', 'x']).message).toMatch(/bound-images check --help/);
  });
});

describe('parseJobArgument', () => {
  it('accepts numbers and job paths only', () => {
    expect(parseJobArgument('1')).toBe('/org/bootc/BoundImages/job/1');
    expect(parseJobArgument('/org/bootc/BoundImages/job/3')).toBe('/org/bootc/BoundImages/job/3');
    for (const bad of ['', '-1', '01', '1.5', 'job/1', '/org/bootc/BoundImages', '99999999999']) {
      expect(() => parseJobArgument(bad)).toThrow(UsageError);
    }
  });
});
