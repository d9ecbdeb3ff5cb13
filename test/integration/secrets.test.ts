// Credentials never leak: a registry behind htpasswd auth, a global auth file (`auth` base64 form)
// and an `AuthFile=` in the root (`username`/`password` form), successful and failing reconciles
// (wrong passwords, malformed auth files that still hold the secret, a password written in clear
// where base64 belongs), run twice: by a daemon logging to a real journald (private namespace) and by
// one logging to stderr. Then every place an operator or caller can see is searched for the password,
// user:password and their base64 (and any base64 token that decodes to them): the whole journal
// (`journalctl -o json`, all fields), the daemon's stderr and stdout, sd_notify STATUS=, every property
// of the manager and of every job (Errors included, via busctl, read while each daemon runs), every
// PropertiesChanged/JobRemoved signal, ListBoundImages, and the state directories.
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { startSandbox, type Registry, type Sandbox } from '../../scripts/harness/index.js';
import { fieldText, startJournald, type JournaldHarness } from '../../scripts/harness/journald.js';
import { startNotifyListener, type NotifyListener } from '../../scripts/harness/notify-listener.js';
import {
  BUS_NAME,
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  busctl,
  ensureBuilt,
  getProperty,
  spawnDaemon,
  waitForJobEnd,
  waitForName,
  watchSignals,
  type DaemonProcess,
  upgrade,
} from './daemon-harness.js';

const USER = 'svc-puller';
const PASSWORD = 'Hx7-correct-horse-4f2a91';
const WRONG_GLOBAL = 'Wg3-wrong-global-77c1d0';
const WRONG_OWN = 'Wo5-wrong-own-e19b52';
const PASSWORDS = [PASSWORD, WRONG_GLOBAL, WRONG_OWN];
const b64 = (text: string): string => Buffer.from(text).toString('base64');
/** Every form a credential could leak in, verbatim. */
const NEEDLES = PASSWORDS.flatMap((pw) => [
  pw,
  `${USER}:${pw}`,
  b64(`${USER}:${pw}`),
  Buffer.from(`${USER}:${pw}`).toString('base64url'),
]);
const OWN_AUTH = '/etc/containers/own-auth.json';

let journald: JournaldHarness;
let sandbox: Sandbox;
let registry: Registry;
let bus: PrivateBus;
let notify: NotifyListener;
let watcher: dbus.MessageBus;
let dir: string;
let root: string;
let globalAuth: string;
let refs: { global: string; own: string };
const signals: string[] = [];

/** What in `text` gives a credential away: a needle, or a base64/base64url token decoding to one. */
function leaks(text: string): string[] {
  const found = NEEDLES.filter((n) => text.includes(n));
  for (const token of text.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? []) {
    for (const enc of ['base64', 'base64url'] as const) {
      const decoded = Buffer.from(token, enc).toString('latin1');
      for (const pw of PASSWORDS) if (decoded.includes(pw)) found.push(`${token} (${enc} of …${pw}…)`);
    }
  }
  return [...new Set(found)];
}

function authJson(host: string, entry: Record<string, string>): string {
  return `${JSON.stringify({ auths: { [host]: entry } }, null, 2)}\n`;
}

/** Writes both auth files: the global one in `auth` form, the root's AuthFile= one as username/password. */
async function setAuthFiles(globalText: string, ownText: string): Promise<void> {
  await writeFile(globalAuth, globalText, { mode: 0o600 });
  await writeFile(join(root, OWN_AUTH), ownText, { mode: 0o600 });
}

/** The global file names the one repository it is for, so `secure/own` can only use its AuthFile=. */
const globalKey = (): string => `${registry.host}/secure/global`;

const goodFiles = (): [string, string] => [
  authJson(globalKey(), { auth: b64(`${USER}:${PASSWORD}`) }),
  authJson(registry.host, { username: USER, password: PASSWORD }),
];

/** Fails the reconcile, but every file still holds a password. */
const BAD_FILES: [label: string, files: () => [string, string], expect: RegExp][] = [
  [
    'wrong passwords',
    () => [
      authJson(globalKey(), { auth: b64(`${USER}:${WRONG_GLOBAL}`) }),
      authJson(registry.host, { username: USER, password: WRONG_OWN }),
    ],
    /unauthori[sz]ed|authentication required|401/i,
  ],
  [
    'malformed JSON around the secrets',
    () => [
      `{"auths": {"${globalKey()}": {"auth": "${b64(`${USER}:${WRONG_GLOBAL}`)}"}},,}\n`,
      `{"auths": {"${registry.host}": {"username": "${USER}", "password": "${WRONG_OWN}"`,
    ],
    /auth file/,
  ],
  [
    'user:password in clear where base64 belongs',
    () => [
      authJson(globalKey(), { auth: `${USER}:${WRONG_GLOBAL}` }),
      authJson(registry.host, { auth: `${USER}:${WRONG_OWN}`, username: 7 as unknown as string }),
    ],
    /auth file/,
  ],
];

async function writeDaemonConfig(name: string): Promise<string> {
  const file = join(dir, `${name}.ini`);
  await writeFile(
    file,
    [
      '[storage]',
      `path = ${sandbox.podman.storePath}`,
      `podman-socket = ${sandbox.podman.socketPath}`,
      '[discovery]',
      `roots = ${root}`,
      '[pull]',
      'concurrency = 2',
      'retries = 1',
      'retry-delay = 0.1',
      `auth-file = ${globalAuth}`,
      '[daemon]',
      `state-directory = ${join(dir, `state-${name}`)}`,
      'idle-exit = 0',
      '',
    ].join('\n'),
  );
  return file;
}

/** Everything a caller can read over the bus: every property of the manager and of every job, and ListBoundImages. */
async function busView(): Promise<string> {
  const tree = await busctl(bus, ['tree', '--list', BUS_NAME]);
  const jobs = tree.stdout.split('\n').filter((l) => /\/job\/\d+$/.test(l));
  const out: string[] = [tree.stdout];
  for (const [path, iface] of [[MANAGER_PATH, MANAGER_IFACE], ...jobs.map((j) => [j, JOB_IFACE])] as const) {
    const all = await busctl(bus, [
      'call',
      BUS_NAME,
      path,
      'org.freedesktop.DBus.Properties',
      'GetAll',
      's',
      iface,
    ]);
    expect(all.code, all.stderr).toBe(0);
    const intro = await busctl(bus, ['introspect', '--no-pager', BUS_NAME, path, iface]);
    out.push(all.stdout, intro.stdout);
  }
  const list = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages']);
  expect(list.code, list.stderr).toBe(0);
  out.push(list.stdout);
  return out.join('\n');
}

async function filesUnder(path: string): Promise<string> {
  const out: string[] = [];
  for (const name of await readdir(path, { recursive: true }).catch(() => [] as string[])) {
    out.push(name, await readFile(join(path, name), 'utf8').catch(() => ''));
  }
  return out.join('\n');
}

beforeAll(async () => {
  await ensureBuilt();
  [journald, sandbox, bus, notify] = await Promise.all([
    startJournald(),
    startSandbox({ auth: { user: USER, password: PASSWORD } }),
    startPrivateBus(),
    startNotifyListener(),
  ]);
  registry = sandbox.authRegistry as Registry;
  const [global, own] = await sandbox.makeImages(
    [
      { name: 'secure/global', size: 256 },
      { name: 'secure/own', size: 256 },
    ],
    { auth: true },
  );
  refs = { global: global?.reference ?? '', own: own?.reference ?? '' };
  dir = makeTempDir('secrets');
  root = join(dir, 'root');
  const quadlets = join(root, 'usr/share/containers/systemd');
  const bound = join(root, 'usr/lib/bootc/bound-images.d');
  await mkdir(quadlets, { recursive: true });
  await mkdir(bound, { recursive: true });
  await mkdir(join(root, 'etc/containers'), { recursive: true });
  await writeFile(join(quadlets, 'global.image'), `[Image]\nImage=${refs.global}\n`);
  await writeFile(join(quadlets, 'own.image'), `[Image]\nImage=${refs.own}\nAuthFile=${OWN_AUTH}\n`);
  await symlink('/usr/share/containers/systemd/global.image', join(bound, 'global.image'));
  await symlink('/usr/share/containers/systemd/own.image', join(bound, 'own.image'));
  globalAuth = join(dir, 'global-auth.json');

  watcher = await watchSignals(bus, (msg) => {
    signals.push(JSON.stringify(msg.body, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x)));
  });
});

afterAll(async () => {
  watcher?.disconnect();
  await bus?.stop();
  await notify?.stop();
  await sandbox?.stop();
  await journald?.stop();
});

describe.each([
  ['journald', true],
  ['stderr', false],
])('a daemon logging to %s', (sinkName, toJournal) => {
  let daemon: DaemonProcess;

  beforeAll(async () => {
    const config = await writeDaemonConfig(sinkName);
    daemon = spawnDaemon(bus, ['--config', config], {
      env: { NOTIFY_SOCKET: notify.path },
      ...(toJournal ? { wrap: ['nsenter', '--mount', `--target=${journald.pid}`, '--'] } : {}),
    });
    await waitForName(bus, daemon);
  });

  afterAll(async () => {
    await daemon?.stop();
  });

  it('pulls both images with the right credentials (global auth file and AuthFile=)', async () => {
    await setAuthFiles(...goodFiles());
    const job = await upgrade(bus, '1', 'pull-policy', 's', 'always');
    expect(await waitForJobEnd(bus, job, 60_000), await getProperty(bus, job, JOB_IFACE, 'Errors')).toBe(
      's "success"',
    );
    const pulled = await getProperty(bus, job, JOB_IFACE, 'Pulled');
    expect(pulled).toContain(refs.global);
    expect(pulled).toContain(refs.own);
  });

  it.each(BAD_FILES)('fails each image, naming it, with %s', async (label, files, reason) => {
    await setAuthFiles(...files());
    const job = await upgrade(bus, '1', 'pull-policy', 's', 'always');
    expect(await waitForJobEnd(bus, job, 60_000)).toBe('s "failed"');
    const errors = await getProperty(bus, job, JOB_IFACE, 'Errors');
    console.log(`[secrets] ${sinkName}, ${label}: ${errors}`);
    expect(errors).toContain(refs.global);
    expect(errors).toContain(refs.own);
    expect(errors).toMatch(reason);
  });

  it('logged to the chosen place (so the search below has something to search)', async () => {
    if (toJournal) {
      const entries = await journald.waitForEntries(['SYSLOG_IDENTIFIER=bound-imaged', 'PRIORITY=3'], {
        count: 6,
      });
      const images = entries.map((e) => fieldText(e, 'IMAGE')).filter((x) => x !== undefined);
      expect(images).toContain(refs.own);
      expect(daemon.stderr()).not.toMatch(/pull of|failed/);
    } else {
      expect(daemon.stderr()).toContain(refs.own);
      expect(daemon.stderr()).toMatch(/^<3>/m);
    }
  });

  it('wrote no credential to its stderr or stdout', () => {
    expect(leaks(daemon.stderr() + daemon.stdout())).toEqual([]);
  });

  it('shows no credential in any property of the manager or a job, or in ListBoundImages', async () => {
    const view = await busView();
    expect(view).toMatch(/failed/);
    expect(view).toContain(refs.own);
    console.log(`[secrets] ${sinkName}: bus view of ${view.split('\n').length} lines searched`);
    expect(leaks(view)).toEqual([]);
  });
});

describe('no credential anywhere', () => {
  it('is in the journal (every field of every entry)', async () => {
    const entries = await journald.entries();
    expect(entries.length).toBeGreaterThan(10);
    const text = entries
      .map((e) =>
        Object.keys(e)
          .map((k) => `${k}=${fieldText(e, k) ?? JSON.stringify(e[k])}`)
          .join('\n'),
      )
      .join('\n');
    expect(text).toContain(refs.own);
    console.log(`[secrets] journal: ${entries.length} entries, ${text.length} characters searched`);
    expect(leaks(text)).toEqual([]);
  });

  it('is in any signal (PropertiesChanged with Errors, JobRemoved)', () => {
    const all = signals.join('\n');
    expect(all).toContain('Errors');
    expect(all).toContain(refs.own);
    console.log(`[secrets] ${signals.length} signals searched`);
    expect(leaks(all)).toEqual([]);
  });

  it('is in STATUS= or the state directories', async () => {
    const status = notify.messages().flat().join('\n');
    expect(status).toMatch(/STATUS=/);
    console.log(`[secrets] ${notify.messages().length} sd_notify datagrams searched`);
    expect(leaks(status)).toEqual([]);
    const state =
      (await filesUnder(join(dir, 'state-journald'))) + (await filesUnder(join(dir, 'state-stderr')));
    expect(state).toMatch(/failed/);
    expect(leaks(state)).toEqual([]);
  });

  it('but the search finds one when it is there (self-check)', () => {
    const [globalFile, ownFile] = goodFiles();
    expect(leaks(globalFile)).not.toEqual([]);
    expect(leaks(ownFile)).not.toEqual([]);
    expect(leaks(`x ${PASSWORD} y`)).not.toEqual([]);
    expect(leaks(`Authorization: Basic ${b64(`${USER}:${PASSWORD}`)}`)).not.toEqual([]);
    expect(
      leaks(`X-Registry-Auth: ${Buffer.from(JSON.stringify({ password: WRONG_OWN })).toString('base64url')}`),
    ).not.toEqual([]);
  });
});
