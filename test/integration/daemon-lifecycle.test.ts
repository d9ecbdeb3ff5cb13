// bound-imaged as a process: arguments, a config error before READY, no bus / name taken, and the
// sd_notify sequence read from a real NOTIFY_SOCKET (STATUS=starting, READY=1 once the name is owned,
// WATCHDOG=1 pings at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM, exit 0 well within 5 s).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { startNotifyListener, type NotifyListener } from '../../scripts/harness/notify-listener.js';
import {
  BUS_NAME,
  DAEMON_MAIN,
  busctl,
  connectClient,
  ensureBuilt,
  makeRoot,
  spawnDaemon,
  waitForName,
  writeConfig,
  type DaemonConfig,
  nameHasOwner,
} from './daemon-harness.js';

const run = promisify(execFile);

let bus: PrivateBus;
let dir: string;
let baseConfig: DaemonConfig;
let configFile: string;

beforeAll(async () => {
  await ensureBuilt();
  bus = await startPrivateBus();
  dir = makeTempDir('daemon-lifecycle');
  baseConfig = {
    storePath: join(dir, 'store'),
    podmanSocket: join(dir, 'no-podman.sock'),
    roots: [await makeRoot(join(dir, 'root'), [])],
    stateDirectory: join(dir, 'state'),
  };
  configFile = await writeConfig(join(dir, 'config.ini'), baseConfig);
});

afterAll(async () => {
  await bus?.stop();
});

describe('command line', () => {
  it('--help prints usage and exits 0', async () => {
    const { stdout } = await run(process.execPath, [DAEMON_MAIN, '--help']);
    expect(stdout).toMatch(/^usage: bound-imaged \[--config PATH\]/);
  });

  it('--version prints the package version', async () => {
    const { stdout } = await run(process.execPath, [DAEMON_MAIN, '--version']);
    expect(stdout).toMatch(/^bound-imaged \d+\.\d+\.\d+/);
  });

  it.each([[['--bogus']], [['extra-argument']], [['--config']]])(
    '%j is a usage error (exit 2)',
    async (args) => {
      await expect(run(process.execPath, [DAEMON_MAIN, ...args])).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/usage: bound-imaged/),
      });
    },
  );
});

describe('--check-config: validates without starting', () => {
  it('a valid file: exit 0, the configuration in effect (parseable) on stdout, no bus touched', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [DAEMON_MAIN, '--check-config', '--config', configFile],
      {
        env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}` },
      },
    );
    expect(stderr).toBe('');
    expect(stdout).toContain(`#   ${configFile}\n`);
    expect(stdout).toMatch(new RegExp(`^; ${configFile}:\\d+\nroots = `, 'm'));
    const { parseConfig } = await import('../../src/config/index.js');
    expect(parseConfig(stdout, 'x').discovery.roots).toEqual(baseConfig.roots);
  });

  it('an invalid file: exit 1, file, line and key on stderr, nothing on stdout', async () => {
    const bad = join(dir, 'check-bad.ini');
    await writeFile(bad, '[pull]\n\nretries = 11\n');
    await expect(run(process.execPath, [DAEMON_MAIN, '--check-config', '-c', bad])).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: `bound-imaged: invalid configuration: ${bad}:3: pull.retries: expected an integer from 0 to 10, got "11"\n`,
    });
    await expect(
      run(process.execPath, [DAEMON_MAIN, '--check-config', '-c', join(dir, 'nope.ini')]),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/nope\.ini: cannot read the file: ENOENT/),
    });
  });
});

describe('start failures: exit 1 before READY, with a message that says why', () => {
  let notify: NotifyListener;
  beforeAll(async () => {
    notify = await startNotifyListener();
  });
  afterAll(async () => {
    await notify?.stop();
  });

  it('a config error names the file, the line and the key; READY never comes, the name is never owned', async () => {
    const bad = join(dir, 'bad.ini');
    await writeFile(bad, '[storage]\npath = /usr/lib/bootc/storage\n\n[pull]\nconcurrency = lots\n');
    const daemon = spawnDaemon(bus, ['--config', bad], { env: { NOTIFY_SOCKET: notify.path } });
    expect(await daemon.exited).toBe(1);
    expect(daemon.stderr()).toMatch(new RegExp(`${bad}:5: pull\\.concurrency: .*lots`));
    expect(notify.messages().flat()).not.toContain('READY=1');
    expect(await nameHasOwner(bus)).toBe(false);
  });

  it('a missing --config file is a config error', async () => {
    const daemon = spawnDaemon(bus, ['--config', join(dir, 'nope.ini')]);
    expect(await daemon.exited).toBe(1);
    expect(daemon.stderr()).toMatch(/nope\.ini: cannot read the file/);
  });

  it('no bus: says which address it could not reach', async () => {
    const daemon = spawnDaemon(null, ['--config', configFile], {
      env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}`, NOTIFY_SOCKET: notify.path },
    });
    expect(await daemon.exited).toBe(1);
    expect(daemon.stderr()).toMatch(/cannot connect to the system bus at unix:path=.*no-bus/);
    expect(notify.messages().flat()).not.toContain('READY=1');
  });

  it('the name already taken: names the owner and exits 1', async () => {
    const squatter = await connectClient(bus);
    try {
      expect(await squatter.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE)).toBe(
        dbus.RequestNameReply.PRIMARY_OWNER,
      );
      const owner = await busctl(bus, [
        'call',
        'org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus',
        'GetNameOwner',
        's',
        BUS_NAME,
      ]);
      const unique = owner.stdout.trim().replace(/^s "(.*)"$/, '$1');
      expect(unique).toMatch(/^:1\.\d+$/);
      const daemon = spawnDaemon(bus, ['--config', configFile]);
      expect(await daemon.exited).toBe(1);
      expect(daemon.stderr()).toContain(
        `${BUS_NAME} is already owned by ${unique}: is another bound-imaged running?`,
      );
    } finally {
      squatter.disconnect();
    }
  });
});

describe('sd_notify from start to stop', () => {
  let notify: NotifyListener;
  beforeAll(async () => {
    notify = await startNotifyListener();
  });
  afterAll(async () => {
    await notify?.stop();
  });

  it('STATUS=starting, READY=1 with the name owned, idle STATUS, WATCHDOG pings, then STOPPING=1 and exit 0', async () => {
    const daemon = spawnDaemon(bus, ['--config', configFile], {
      env: { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '200000' },
    });
    try {
      await notify.waitFor((m) => m.some((d) => d.includes('READY=1')), 20_000);
      // READY is sent only after the name is owned, so the name must be owned now.
      expect(await nameHasOwner(bus)).toBe(true);
      // Five pings at 100 ms (half of 200 ms) come within a second or two.
      await notify.waitFor((m) => m.filter((d) => d.includes('WATCHDOG=1')).length >= 5, 5000);

      const stopAsked = Date.now();
      process.kill(daemon.pid, 'SIGTERM');
      const code = await daemon.exited;
      const took = Date.now() - stopAsked;
      expect(code).toBe(0);
      expect(took).toBeLessThan(5000);
      expect(await nameHasOwner(bus)).toBe(false);

      const lines = notify
        .datagrams()
        .filter((d) => d.pid === daemon.pid)
        .flatMap((d) => d.lines);
      const first = (pred: (l: string) => boolean) => lines.findIndex(pred);
      const last = (pred: (l: string) => boolean) => lines.map(pred).lastIndexOf(true);
      const starting = first((l) => l === 'STATUS=starting');
      const ready = first((l) => l === 'READY=1');
      const idle = first((l) => l === 'STATUS=idle');
      const stopping = first((l) => l === 'STOPPING=1');
      expect(starting).toBeGreaterThanOrEqual(0);
      expect(ready).toBeGreaterThan(starting);
      expect(idle).toBeGreaterThan(ready);
      expect(first((l) => l === 'WATCHDOG=1')).toBeGreaterThan(ready);
      expect(stopping).toBeGreaterThan(ready);
      // No keep-alive after STOPPING=1: the watchdog is stopped first.
      expect(last((l) => l === 'WATCHDOG=1')).toBeLessThan(stopping);
      expect(lines.slice(stopping)).toContainEqual(expect.stringMatching(/^STATUS=stopping \(SIGTERM\)$/));
    } finally {
      await daemon.stop('SIGKILL');
    }
  });

  it('without WATCHDOG_USEC there are no pings; SIGINT stops it too', async () => {
    const daemon = spawnDaemon(bus, ['--config', configFile], { env: { NOTIFY_SOCKET: notify.path } });
    try {
      await waitForName(bus, daemon);
      await new Promise((r) => setTimeout(r, 500));
      process.kill(daemon.pid, 'SIGINT');
      expect(await daemon.exited).toBe(0);
      const lines = notify
        .datagrams()
        .filter((d) => d.pid === daemon.pid)
        .flatMap((d) => d.lines);
      expect(lines).toContain('READY=1');
      expect(lines).toContain('STOPPING=1');
      expect(lines).not.toContain('WATCHDOG=1');
    } finally {
      await daemon.stop('SIGKILL');
    }
  });
});

describe('losing the bus', () => {
  it('exits 1, saying the connection is gone, when the bus goes away', async () => {
    const own = await startPrivateBus();
    const daemon = spawnDaemon(own, ['--config', configFile]);
    try {
      await waitForName(own, daemon);
      await own.stop();
      const code = await Promise.race([
        daemon.exited,
        new Promise((r) => setTimeout(() => r('still running'), 10_000)),
      ]);
      expect(code).toBe(1);
      expect(daemon.stderr()).toMatch(/lost the system bus connection/);
    } finally {
      await daemon.stop('SIGKILL');
      await own.stop();
    }
  });
});
