// Hostile D-Bus input from root against the real daemon on a private dbus-daemon: every method
// (Upgrade, ListBoundImages, Cancel, Properties.Get/Set/GetAll, Introspect) with wrong signatures,
// wrong types, 1 MiB strings, 100,000-element arrays, 10,000-entry a{sv}, unknown options, nested
// variants; Set on every read-only property; paths that are not (or no longer) jobs. Each call gets a
// D-Bus error with an expected name and a clear, short text; after each one the daemon still answers
// a property read; none of them creates a job. No Podman here: nothing should get that far.
// (Basic cases: dbus-contract.test.ts. Non-root callers and the `root` option: hostile-dbus-caller.test.ts.)
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import {
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  connectClient,
  ensureBuilt,
  getProperty,
  makeRoot,
  rawCall,
  startDaemon,
  waitForJobEnd,
  type DaemonProcess,
  jobPaths,
} from './daemon-harness.js';
import {
  CLEAR_ERRORS,
  E,
  INTROSPECTABLE,
  MiB,
  PROPS,
  expectAnswersRead,
  expectClear,
  refused,
  variant as v,
  type CallSpec,
} from './hostile-dbus-harness.js';

let bus: PrivateBus;
let daemon: DaemonProcess;
let client: dbus.MessageBus;
let finishedJob: string;

beforeAll(async () => {
  await ensureBuilt();
  bus = await startPrivateBus();
  const dir = makeTempDir('hostile-dbus');
  const root = await makeRoot(join(dir, 'root'), [{ name: 'app.image', image: 'example.org/app:1' }]);
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: join(dir, 'store'),
    podmanSocket: join(dir, 'no-podman.sock'),
    roots: [root],
    stateDirectory: join(dir, 'state'),
  });
  client = await connectClient(bus);
  // A finished job to aim job-level calls at (it fails: there is no Podman, which is fine here).
  finishedJob = (await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', [{}]))
    .body[0] as string;
  expect(await waitForJobEnd(bus, finishedJob, 30_000)).toBe('s "failed"');
});

afterAll(async () => {
  client?.disconnect();
  await daemon?.stop();
  await bus?.stop();
});

const big = '/' + 'a'.repeat(MiB);
const strings = (n: number, s = 'x'): string[] => Array.from({ length: n }, (_, i) => `${s}${i}`);
/** `n` entries named opt-0…, after `first` when given. */
function options(n: number, first?: [string, dbus.Variant]): Record<string, dbus.Variant> {
  const out: Record<string, dbus.Variant> = first ? { [first[0]]: first[1] } : {};
  for (let i = 0; Object.keys(out).length < n; i++) out[`opt-${i}`] = v('s', 'x');
  return out;
}
let nested: dbus.Variant = v('s', '/');
for (let i = 0; i < 30; i++) nested = v('v', nested);

const NO_JOB = '/org/bootc/BoundImages/job/999999';
type Case = [label: string, call: () => CallSpec, names: readonly string[], text?: RegExp];
const upgrade =
  (sig: string, ...body: unknown[]) =>
  (): CallSpec => [MANAGER_PATH, MANAGER_IFACE, 'Upgrade', sig, body];
const at =
  (path: string | (() => string), iface: string | undefined, member: string, sig = '', ...body: unknown[]) =>
  (): CallSpec => [typeof path === 'string' ? path : path(), iface, member, sig, body];
const job = (): string => finishedJob;
const badArgs = [E.invalidArgs];

// prettier-ignore
const CASES: Case[] = [
  ['Upgrade with no argument', upgrade(''), badArgs, /takes \(a\{sv\}\), got \(\)/],
  ['Upgrade with a string', upgrade('s', '/'), badArgs, /takes \(a\{sv\}\), got \(s\)/],
  ['Upgrade with a{ss}', upgrade('a{ss}', { root: '/' }), badArgs, /got \(a\{ss\}\)/],
  ['Upgrade with two dictionaries', upgrade('a{sv}a{sv}', {}, {}), badArgs, /got \(a\{sv\}a\{sv\}\)/],
  ['Upgrade with 100,000 strings', upgrade('as', strings(100_000)), badArgs, /got \(as\)/],
  ['Upgrade with 1 MiB of bytes', upgrade('ay', Buffer.alloc(MiB, 0x2f)), badArgs, /got \(ay\)/],
  ['Upgrade with a 1 MiB root', upgrade('a{sv}', { root: v('s', big) }), badArgs, /'root' is not a valid path/],
  ['Upgrade with a 1 MiB option name', upgrade('a{sv}', { ['x'.repeat(MiB)]: v('b', true) }), badArgs,
    /unknown option 'x{77}\.\.\.'/],
  ['Upgrade with a 1 MiB pull-policy', upgrade('a{sv}', { 'pull-policy': v('s', 'p'.repeat(MiB)) }), badArgs,
    /'pull-policy' must be one of missing, always, newer, got 'p{77}\.\.\.'/],
  ['Upgrade with 10,000 unknown options', upgrade('a{sv}', options(10_000)), badArgs, /unknown option 'opt-0'/],
  ['Upgrade with dry-run and 9,999 unknown options', upgrade('a{sv}', options(10_000, ['dry-run', v('b', true)])),
    badArgs, /unknown option 'opt-0'/],
  ['Upgrade with Root for root', upgrade('a{sv}', { Root: v('s', '/') }), badArgs, /unknown option 'Root'/],
  ['Upgrade with root in a variant in a variant', upgrade('a{sv}', { root: v('v', v('s', '/')) }), badArgs,
    /'root' must be a string \(variant type 's'\), got type 'v'/],
  ['Upgrade with root 31 variants deep', upgrade('a{sv}', { root: nested }), badArgs, /got type 'v'/],
  ['Upgrade with dry-run as av', upgrade('a{sv}', { 'dry-run': v('av', [v('b', true)]) }), badArgs,
    /'dry-run' must be a boolean/],
  ['Upgrade with gc as a{sv}', upgrade('a{sv}', { gc: v('a{sv}', { gc: v('b', false) }) }), badArgs,
    /'gc' must be a boolean/],
  ['Upgrade with gc as a number', upgrade('a{sv}', { gc: v('t', 1) }), badArgs, /'gc' must be a boolean/],
  ['Upgrade with a newline in root', upgrade('a{sv}', { root: v('s', '/tmp\n/etc') }), badArgs, /'root'/],
  ['Upgrade with a relative root', upgrade('a{sv}', { root: v('s', '../../etc') }), badArgs,
    /must be an absolute path/],
  ['ListBoundImages with a string', at(MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages', 's', 'x'), badArgs,
    /takes \(\), got \(s\)/],
  ['ListBoundImages with 1 MiB', at(MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages', 's', big), badArgs],
  ['ListBoundImages with 10,000 options', at(MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages', 'a{sv}',
    options(10_000)), badArgs],
  ['Cancel with a string', at(job, JOB_IFACE, 'Cancel', 's', 'now'), badArgs, /takes \(\), got \(s\)/],
  ['Cancel with 10,000 options', at(job, JOB_IFACE, 'Cancel', 'a{sv}', options(10_000)), badArgs],
  ['Cancel of a finished job', at(job, JOB_IFACE, 'Cancel'), [E.jobFinished], /already finished/],
  ['an unknown manager method', at(MANAGER_PATH, MANAGER_IFACE, 'Reboot'), [E.unknownMethod], /Reboot/],
  ['an unknown job method', at(job, JOB_IFACE, 'Restart'), [E.unknownMethod], /Restart/],
  ['Cancel on the manager', at(MANAGER_PATH, MANAGER_IFACE, 'Cancel'), [E.unknownMethod]],
  ['an unknown interface', at(MANAGER_PATH, 'org.example.Nope', 'Upgrade', 'a{sv}', {}), CLEAR_ERRORS],
  ['the job interface on the manager', at(MANAGER_PATH, JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Get with one argument', at(MANAGER_PATH, PROPS, 'Get', 's', MANAGER_IFACE), CLEAR_ERRORS],
  ['Get with no argument', at(MANAGER_PATH, PROPS, 'Get'), CLEAR_ERRORS],
  ['Get with numbers', at(MANAGER_PATH, PROPS, 'Get', 'uu', 1, 2), CLEAR_ERRORS],
  ['Get of an unknown property', at(MANAGER_PATH, PROPS, 'Get', 'ss', MANAGER_IFACE, 'Password'), CLEAR_ERRORS],
  ['Get of a 1 MiB property name', at(MANAGER_PATH, PROPS, 'Get', 'ss', MANAGER_IFACE, 'P'.repeat(MiB)),
    CLEAR_ERRORS],
  ['Get on an unknown interface', at(MANAGER_PATH, PROPS, 'Get', 'ss', 'org.example.Nope', 'State'), CLEAR_ERRORS],
  ['Get of a manager property on a job', at(job, PROPS, 'Get', 'ss', MANAGER_IFACE, 'State'), CLEAR_ERRORS],
  ['GetAll with no argument', at(MANAGER_PATH, PROPS, 'GetAll'), CLEAR_ERRORS],
  ['GetAll with a number', at(MANAGER_PATH, PROPS, 'GetAll', 'u', 7), CLEAR_ERRORS],
  ['GetAll with 100,000 strings', at(MANAGER_PATH, PROPS, 'GetAll', 'as', strings(100_000)), CLEAR_ERRORS],
  ['Set with two strings', at(MANAGER_PATH, PROPS, 'Set', 'ss', MANAGER_IFACE, 'State'), badArgs],
  ['Set of an unknown property', at(MANAGER_PATH, PROPS, 'Set', 'ssv', MANAGER_IFACE, 'Admin', v('b', true)),
    badArgs, /no property/],
  ['Set with a nested variant', at(MANAGER_PATH, PROPS, 'Set', 'ssv', MANAGER_IFACE, 'Roots', nested),
    [E.readOnly]],
  ['Set with a 1 MiB value', at(job, PROPS, 'Set', 'ssv', JOB_IFACE, 'State', v('s', big)), [E.readOnly]],
  ['Introspect with an argument', at(MANAGER_PATH, INTROSPECTABLE, 'Introspect', 's', 'x'), badArgs],
  ['Introspect with 1 MiB', at(job, INTROSPECTABLE, 'Introspect', 'ay', Buffer.alloc(MiB)), badArgs],
  ['Cancel of job 999999', at(NO_JOB, JOB_IFACE, 'Cancel'), [E.unknownObject], /job 999999 does not exist/],
  ['Cancel of job 9999999999', at(`${NO_JOB}9999`, JOB_IFACE, 'Cancel'), [E.unknownObject]],
  ['Cancel of job 0', at('/org/bootc/BoundImages/job/0', JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Cancel of job 01', at('/org/bootc/BoundImages/job/01', JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Cancel of job 1e20', at(`/org/bootc/BoundImages/job/1${'0'.repeat(20)}`, JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Cancel of job abc', at('/org/bootc/BoundImages/job/abc', JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Cancel of the job folder', at('/org/bootc/BoundImages/job', JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Cancel of a path below a job', at(() => `${finishedJob}/1`, JOB_IFACE, 'Cancel'), CLEAR_ERRORS],
  ['Cancel of job 999999 without interface', at(NO_JOB, undefined, 'Cancel'), CLEAR_ERRORS],
  ['Get on job 999999', at(NO_JOB, PROPS, 'Get', 'ss', JOB_IFACE, 'State'), CLEAR_ERRORS],
  ['GetAll on job 999999', at(NO_JOB, PROPS, 'GetAll', 's', JOB_IFACE), CLEAR_ERRORS],
  ['Set on job 999999', at(NO_JOB, PROPS, 'Set', 'ssv', JOB_IFACE, 'State', v('s', 'success')), CLEAR_ERRORS],
];

describe('bad calls from root get a clear D-Bus error, and the daemon keeps answering', () => {
  it.each(CASES)('%s', async (_label, call, names, text) => {
    expectClear(await refused(client, call()), names, text);
    await expectAnswersRead(client, daemon);
  });

  it('Set on every property of the manager and of a job, with its own value: PropertyReadOnly', async () => {
    const getAll = async (path: string, iface: string) =>
      (await rawCall(client, path, PROPS, 'GetAll', 's', [iface])).body[0] as Record<string, dbus.Variant>;
    const manager = await getAll(MANAGER_PATH, MANAGER_IFACE);
    const jobProps = await getAll(finishedJob, JOB_IFACE);
    const targets = [
      ...Object.entries(manager).map(([name, value]) => [MANAGER_PATH, MANAGER_IFACE, name, value] as const),
      ...Object.entries(jobProps).map(([name, value]) => [finishedJob, JOB_IFACE, name, value] as const),
    ];
    expect(targets.length).toBeGreaterThanOrEqual(20);
    for (const [path, iface, name, value] of targets) {
      // The same type and value it already has: only the read-only rule can refuse it.
      const r = await refused(client, [path, PROPS, 'Set', 'ssv', [iface, name, value]]);
      expectClear(r, [E.readOnly], new RegExp(`${iface.replace(/\./g, '\\.')}\\.${name} is read-only`));
    }
    const values = (p: Record<string, dbus.Variant>) =>
      Object.fromEntries(Object.entries(p).map(([k, x]) => [k, x.value as unknown]));
    expect(values(await getAll(finishedJob, JOB_IFACE))).toEqual(values(jobProps));
    await expectAnswersRead(client, daemon);
  });

  it('none of that started a job or hurt the daemon', async () => {
    expect(await jobPaths(bus)).toEqual([finishedJob]);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
    expect(daemon.stderr()).not.toMatch(/internal error|TypeError|RangeError|ReferenceError/);
  });
});
