// The demo's steps, in order, each under its heading: the sandbox (registries with three generated
// images, the Podman API service on the bound store, a private system bus and journald), the sample
// deployment root, bound-imaged and `bound-images upgrade`, what the store then holds (for the daemon
// and for a second Podman), an unbind followed by GC, and the daemon's log. Every claim the output
// makes is checked here; a failed check throws, and the caller tears down.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makeTempDir } from '../harness/cleanup.js';
import type { PrivateBus } from '../harness/dbus-daemon.js';
import { startPrivateBus } from '../harness/dbus-daemon.js';
import type { JournaldHarness } from '../harness/journald.js';
import type { MadeImage, PodmanConsumer, RegistryCredentials, Sandbox } from '../harness/index.js';
import { startSandbox } from '../harness/index.js';
import { runShown } from './client.js';
import type { DemoDaemon } from './daemon.js';
import { CLI_MAIN, DAEMON_MAIN, startDaemon, waitForDaemon, writeDaemonConfig } from './daemon.js';
import { describeLogView, fallbackView, showLogs, tryStartJournald, type LogView } from './journal.js';
import { printKeepCommands } from './keep.js';
import { commandLine, type Output } from './output.js';
import {
  AUTH_FILE,
  BOUND_DIR,
  entryLink,
  sampleEntries,
  unlinkEntry,
  writeSampleRoot,
} from './sample-root.js';
import type { BoundEntryInfo, DemoImages } from './sample-root.js';
import { allNames, holds, listImages, parseImages, type StoreImage } from './store-view.js';

/** Everything the demo starts, filled in as it goes, so a teardown stops exactly what exists. */
export interface DemoParts {
  sandbox?: Sandbox;
  bus?: PrivateBus;
  journald?: JournaldHarness;
  daemon?: DemoDaemon;
  consumer?: PodmanConsumer;
}

export const DEMO_CREDENTIALS: RegistryCredentials = { user: 'demo', password: 'bound-images-demo' };

/** The entry step 5 unlinks: the multi-layer image, so GC has layers to drop. */
const UNBIND = 'web.image';

const MiB = 1024 * 1024;
/** Payload of the multi-layer image, in MiB: enough for the pull to take a visible moment. */
const WEB_MIB = 6;
const CLIENT_TIMEOUT_MS = 120_000;

interface Ctx {
  out: Output;
  parts: DemoParts;
  sandbox: Sandbox;
  bus: PrivateBus;
  entries: BoundEntryInfo[];
  dir: string;
  root: string;
  configFile: string;
}

function fail(message: string): never {
  throw new Error(message);
}

function shortDigest(digest: string): string {
  return `${digest.slice(0, 'sha256:'.length + 12)}…`;
}

/** Starts services in parallel; whatever started is recorded in `parts` even when another failed. */
async function startServices(parts: DemoParts): Promise<string | undefined> {
  const [sandbox, bus, journal] = await Promise.allSettled([
    startSandbox({ auth: DEMO_CREDENTIALS }),
    startPrivateBus(),
    tryStartJournald(),
  ]);
  if (sandbox.status === 'fulfilled') parts.sandbox = sandbox.value;
  if (bus.status === 'fulfilled') parts.bus = bus.value;
  if (journal.status === 'fulfilled' && journal.value.journald) parts.journald = journal.value.journald;
  for (const r of [sandbox, bus]) if (r.status === 'rejected') throw r.reason;
  return journal.status === 'fulfilled' ? journal.value.reason : String(journal.reason);
}

async function stepSandbox(
  out: Output,
  parts: DemoParts,
): Promise<{ images: DemoImages; noJournald?: string }> {
  out.heading(1, 'A sandbox: loopback registries, a Podman API on a temporary store, a private bus');
  const noJournald = await startServices(parts);
  const sandbox = parts.sandbox ?? fail('no sandbox');
  const authRegistry = sandbox.authRegistry ?? fail('no registry behind auth');
  const [open, behindAuth] = await Promise.all([
    sandbox.makeImages([
      { name: 'demo/web', tag: '1.0', layers: 4, size: WEB_MIB * MiB },
      { name: 'demo/db', tag: '1.0', layers: 2, size: MiB },
    ]),
    sandbox.makeImages([{ name: 'demo/app', tag: '1.0', size: MiB }], { auth: true }),
  ]);
  const [web, db] = open as [MadeImage, MadeImage];
  const images: DemoImages = { web, db, app: behindAuth[0] ?? fail('no app image') };
  const rows: [string, string][] = [
    ['registry', `${sandbox.registry.url}  (docker-registry, storage in a temp dir)`],
    [
      'registry, auth',
      `${authRegistry.url}  (docker-registry behind htpasswd, user '${DEMO_CREDENTIALS.user}')`,
    ],
    ['bound store', `${sandbox.podman.storePath}`],
    ['Podman API', `unix://${sandbox.podman.socketPath}  (podman system service on that store)`],
    ['system bus', `${parts.bus?.address ?? '?'}  (a private dbus-daemon of type system)`],
  ];
  for (const [k, v] of rows) out.say(`${k.padEnd(15)} ${v}`);
  out.say('\nThree generated images (a busybox root plus random payload), pushed over the registry API:');
  const imageRows: [MadeImage, string][] = [
    [images.web, `${images.web.layers} layers, ${WEB_MIB} MiB`],
    [images.app, 'behind htpasswd auth'],
    [images.db, `${images.db.layers} layers, to be pinned by digest`],
  ];
  const width = Math.max(...imageRows.map(([i]) => i.reference.length));
  for (const [i, what] of imageRows)
    out.say(`  ${i.reference.padEnd(width)}  ${shortDigest(i.digest)}  ${what}`);
  return noJournald === undefined ? { images } : { images, noJournald };
}

async function stepRoot(
  out: Output,
  images: DemoImages,
  authHost: string,
): Promise<{ dir: string; root: string; entries: BoundEntryInfo[] }> {
  out.heading(2, 'A deployment root that binds three images');
  const dir = makeTempDir('demo');
  const root = join(dir, 'root');
  const entries = sampleEntries(images);
  await writeSampleRoot(root, entries, { host: authHost, creds: DEMO_CREDENTIALS });
  out.say(`ROOT=${root}, as a bootc image would ship it; its ${BOUND_DIR}/ links to Quadlet files:`);
  for (const e of entries) {
    out.say(`\n${BOUND_DIR}/${e.entry} -> /usr/share/containers/systemd/${e.entry}`);
    out.say(`  shows: ${e.demonstrates}`);
    for (const f of e.files) {
      out.say(`  ${f.path}:`);
      out.indented(f.content, 4);
    }
  }
  out.say(`\n(${AUTH_FILE} in ROOT holds the htpasswd credentials, in containers-auth.json form.)`);
  return { dir, root, entries };
}

function clientArgv(args: string[]): string[] {
  return [process.execPath, CLI_MAIN, ...args];
}

/** Runs `bound-images ARGS`, shown as such, with its real output; fails the demo on a non-zero exit. */
async function client(ctx: Ctx, args: string[]): Promise<string> {
  ctx.out.command(['bound-images', ...args]);
  const r = await runShown(ctx.out, clientArgv(args), {
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: ctx.bus.address },
    terminal: ctx.out.isTerminal,
    timeoutMs: CLIENT_TIMEOUT_MS,
  });
  if (r.code !== 0) fail(`bound-images ${args.join(' ')} exited with status ${r.code}`);
  return r.stdout;
}

/** Starts the daemon and runs the first upgrade; returns where the daemon's log can be read. */
async function stepUpgrade(ctx: Ctx): Promise<LogView> {
  const { out, parts, bus } = ctx;
  out.heading(3, 'bound-imaged on the private bus, then an upgrade');
  out.say(
    `bound-imaged is \`node ${relative(process.cwd(), DAEMON_MAIN)}\`, bound-images is ` +
      `\`node ${relative(process.cwd(), CLI_MAIN)}\`;\nboth use the private bus: ` +
      `DBUS_SYSTEM_BUS_ADDRESS=${bus.address}`,
  );
  out.command(['cat', ctx.configFile]);
  out.block(readFileSync(ctx.configFile, 'utf8'));
  const daemon = startDaemon({
    bus,
    configFile: ctx.configFile,
    dir: ctx.dir,
    ...(parts.journald ? { journald: parts.journald } : {}),
  });
  parts.daemon = daemon;
  const logView: LogView = parts.journald
    ? { kind: 'journald', journald: parts.journald }
    : fallbackView(daemon.pid, daemon.stderrFile, daemon.stderr);
  out.write(`$ ${commandLine(['bound-imaged', '--config', ctx.configFile])} &\n`);
  await waitForDaemon(bus, daemon);
  out.say(`(pid ${daemon.pid}; it has taken the name org.bootc.BoundImages on the bus: it is ready)`);
  await client(ctx, ['status']);
  const upgrade = await client(ctx, ['upgrade']);
  if (!out.isTerminal) {
    for (const e of ctx.entries)
      if (!upgrade.includes(`pulled ${e.reference}\n`))
        fail(`upgrade did not report 'pulled ${e.reference}'`);
    if (!upgrade.endsWith('success\n')) fail(`upgrade did not end with 'success'`);
  }
  return logView;
}

async function consumerListing(ctx: Ctx, consumer: PodmanConsumer): Promise<StoreImage[]> {
  const args = ['images', '--format', 'table {{.Repository}} {{.Tag}} {{.Digest}} {{.ReadOnly}}'];
  ctx.out.command(['podman', ...consumer.globalArgs, ...args]);
  ctx.out.block((await consumer.podman(args)).stdout);
  return parseImages((await consumer.podman(['images', '--format', 'json'])).stdout);
}

async function stepStore(ctx: Ctx): Promise<PodmanConsumer> {
  const { out, sandbox } = ctx;
  out.heading(4, 'What the bound store holds now');
  await client(ctx, ['list']);
  const store = await listImages(sandbox.podman);
  for (const e of ctx.entries) if (!holds(store, e.reference)) fail(`the bound store lacks ${e.reference}`);
  out.say(
    '\nAnother Podman, with a store of its own, reads the bound store as an additional image store\n' +
      '(read-only: the R/O column):',
  );
  const consumer = await sandbox.consumer();
  ctx.parts.consumer = consumer;
  const seen = await consumerListing(ctx, consumer);
  for (const e of ctx.entries) {
    if (!holds(seen, e.reference)) fail(`the consumer does not see ${e.reference}`);
    if (!seen.every((i) => i.readOnly)) fail('the consumer lists an image that is not read-only');
  }
  return consumer;
}

async function stepGc(ctx: Ctx, consumer: PodmanConsumer): Promise<string> {
  const { out, sandbox } = ctx;
  const entry = ctx.entries.find((e) => e.entry === UNBIND) ?? fail(`no entry ${UNBIND}`);
  out.heading(5, `Unbind ${UNBIND} and upgrade again: GC removes exactly its image`);
  const before = await listImages(sandbox.podman);
  const target =
    before.find((i) => i.tags.includes(entry.reference)) ?? fail(`${entry.reference} not in the store`);
  out.command(['rm', entryLink(ctx.root, entry.entry)]);
  await unlinkEntry(ctx.root, entry.entry);
  const upgrade = await client(ctx, ['upgrade']);
  const after = await listImages(sandbox.podman);
  const goneIds = before.filter((b) => !after.some((a) => a.id === b.id)).map((b) => b.id);
  const goneNames = allNames(before).filter((n) => !allNames(after).includes(n));
  if (goneIds.length !== 1 || goneIds[0] !== target.id)
    fail(`GC removed images ${goneIds.join(', ') || 'none'}, expected exactly ${target.id}`);
  if (goneNames.join(' ') !== [...target.tags, ...target.digests].sort().join(' '))
    fail(`GC removed the names ${goneNames.join(', ')}, expected those of ${entry.reference}`);
  if (!out.isTerminal) {
    const removed = upgrade.split('\n').filter((l) => l.startsWith('removed '));
    if (removed.join('\n') !== `removed ${entry.reference}`)
      fail(`upgrade reported ${JSON.stringify(removed)}, expected only 'removed ${entry.reference}'`);
  }
  out.say(
    `\nchecked: the store lost exactly ${entry.reference} (image ${target.id.slice(0, 12)}); ` +
      `the other ${after.length} images stay. The consumer's view:`,
  );
  const seen = await consumerListing(ctx, consumer);
  if (holds(seen, entry.reference)) fail(`the consumer still sees ${entry.reference}`);
  return entry.reference;
}

async function stepLogs(ctx: Ctx, logView: LogView, removed: string, keep: boolean): Promise<void> {
  const { out } = ctx;
  const daemon = ctx.parts.daemon ?? fail('no daemon');
  out.heading(6, "The daemon's log");
  if (!keep) {
    out.say('bound-imaged is stopped first, so the log is complete:');
    out.command(['kill', '-TERM', String(daemon.pid)]);
    await daemon.stop('SIGTERM', 5000);
    const code = await daemon.exited;
    if (code !== 0) fail(`bound-imaged exited with status ${code} on SIGTERM`);
  }
  await showLogs(out, logView, { removedImage: removed, expectStop: !keep });
}

/** Steps 1–6 (and, with keep, the commands to try); teardown is the caller's. */
export async function runDemo(out: Output, parts: DemoParts, opts: { keep: boolean }): Promise<void> {
  out.say('bound-imaged demo: its main job in a throwaway sandbox on loopback and in temp dirs.');
  const { images, noJournald } = await stepSandbox(out, parts);
  const sandbox = parts.sandbox ?? fail('no sandbox');
  const bus = parts.bus ?? fail('no bus');
  out.say(
    parts.journald
      ? `\nlog: ${describeLogView({ kind: 'journald', journald: parts.journald })}`
      : `\nlog: no private journald (${noJournald ?? 'unknown reason'}); the daemon's fallback is used`,
  );
  const { dir, root, entries } = await stepRoot(
    out,
    images,
    sandbox.authRegistry?.host ?? fail('no auth registry'),
  );
  const configFile = join(dir, 'config.ini');
  await writeDaemonConfig(configFile, {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    root,
    stateDirectory: join(dir, 'state'),
    authFile: join(dir, 'no-global-auth.json'),
  });
  const ctx: Ctx = { out, parts, sandbox, bus, entries, dir, root, configFile };
  const logView = await stepUpgrade(ctx);
  const consumer = await stepStore(ctx);
  const removed = await stepGc(ctx, consumer);
  await stepLogs(ctx, logView, removed, opts.keep);
  if (opts.keep)
    printKeepCommands(out, {
      bus,
      root,
      cli: clientArgv([]),
      consumer,
      logView,
      unbound: { link: entryLink(root, UNBIND), target: `/usr/share/containers/systemd/${UNBIND}` },
    });
}
