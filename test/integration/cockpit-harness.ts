// The Cockpit page's browser-test harness: Debian's cockpit-ws on loopback in its local-session mode
// (no login: it starts cockpit-bridge itself, as the test's user or, through setpriv, as another),
// with the bridge on the test's private system bus and the built package as the user's Cockpit
// package (XDG_DATA_HOME/cockpit/bound-images); and headless Chromium from Debian driven by
// playwright-core, with a new empty profile and no network beyond loopback.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Frame, type Page } from 'playwright-core';
import { makeTempDir, releaseDir } from '../../scripts/harness/cleanup.js';
import type { PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, run, spawnService, waitUntil } from '../../scripts/harness/proc.js';
import { REPO } from './daemon-harness.js';

/** Where Debian (and Fedora) install cockpit-ws. */
const COCKPIT_WS = ['/usr/lib/cockpit/cockpit-ws', '/usr/libexec/cockpit-ws'];
const COCKPIT_BRIDGE = '/usr/bin/cockpit-bridge';
export const CHROMIUM = '/usr/bin/chromium';
/** The built package (npm run build:cockpit). */
export const PACKAGE_DIR = join(REPO, 'dist', 'cockpit', 'bound-images');

export interface CockpitWs {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Builds the Cockpit package (esbuild) into PACKAGE_DIR. */
export async function buildCockpitPackage(): Promise<void> {
  await run(process.execPath, [join(REPO, 'cockpit', 'build.mjs')], { timeoutMs: 120_000 });
  if (!existsSync(join(PACKAGE_DIR, 'bound-images.js')))
    throw new Error(`build:cockpit made no ${PACKAGE_DIR}`);
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/**
 * cockpit-ws --no-tls --local-session on 127.0.0.1: every browser connection gets a session of its
 * own, run by cockpit-bridge as `uid` (default: ours), on `bus` as its system bus.
 */
export async function startCockpitWs(bus: PrivateBus, opts: { uid?: number } = {}): Promise<CockpitWs> {
  const ws = COCKPIT_WS.find((p) => existsSync(p));
  if (!ws) throw new Error(`cockpit-ws not found in ${COCKPIT_WS.join(' or ')} (Debian package cockpit-ws)`);
  if (!existsSync(COCKPIT_BRIDGE))
    throw new Error(`${COCKPIT_BRIDGE} not found (Debian package cockpit-bridge)`);
  const dir = makeTempDir('cockpit');
  // A bridge running as another user reads its package and home from here.
  await chmod(dir, 0o755);
  const dataHome = join(dir, 'data');
  const home = join(dir, 'home');
  await mkdir(join(dataHome, 'cockpit'), { recursive: true });
  await cp(PACKAGE_DIR, join(dataHome, 'cockpit', 'bound-images'), { recursive: true });
  await mkdir(home, { mode: 0o777 });
  await chmod(home, 0o777);
  let bridge = COCKPIT_BRIDGE;
  if (opts.uid !== undefined) {
    bridge = join(dir, 'bridge-as-user');
    await writeFile(
      bridge,
      `#!/bin/sh\nexec setpriv --reuid=${opts.uid} --regid=${opts.uid} --clear-groups ${COCKPIT_BRIDGE} "$@"\n`,
      { mode: 0o755 },
    );
  }
  const port = await freePort();
  const stderrFile = join(dir, 'cockpit-ws.err');
  const proc = spawnService(
    ws,
    ['--no-tls', `--local-session=${bridge}`, `--port=${port}`, '--address=127.0.0.1'],
    {
      env: {
        ...bus.env(),
        HOME: home,
        XDG_DATA_HOME: dataHome,
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_RUNTIME_DIR: join(dir, 'run'),
        // No session bus: the page uses the system bus only, and without an address the bridge's
        // GLib would autolaunch a session dbus-daemon that outlives the test.
        DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-session-bus')}`,
        // Nor an ssh-agent, which the bridge starts when none is named, and which outlives it too.
        SSH_AUTH_SOCK: join(dir, 'no-ssh-agent'),
        // A locale every machine has (cockpit-ws warns about one it cannot load).
        LANG: 'C.UTF-8',
        LC_ALL: 'C.UTF-8',
      },
      stdoutFile: join(dir, 'cockpit-ws.out'),
      stderrFile,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stderr = (): string => (existsSync(stderrFile) ? readFileSync(stderrFile, 'utf8') : '');
  try {
    await waitUntil('cockpit-ws', async () => (await httpStatus(`${url}/`)) > 0, {
      timeoutMs: 20_000,
      intervalMs: 100,
      giveUp: () => (proc.hasExited() ? `cockpit-ws exited:\n${stderr()}` : undefined),
    });
  } catch (error) {
    await proc.stop('SIGKILL');
    releaseDir(dir);
    throw error;
  }
  return {
    url,
    stderr,
    async stop() {
      await proc.stop('SIGTERM', 3000);
      releaseDir(dir);
    },
  };
}

export interface Browser {
  readonly context: BrowserContext;
  /** Console errors and uncaught page errors of every page and frame, as text. */
  readonly problems: string[];
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  stop(): Promise<void>;
}

/** Headless Debian Chromium, a fresh profile, background networking off (the machine is offline). */
export async function startBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found (Debian package chromium): run scripts/setup.sh`);
  const profile = makeTempDir('chromium');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const problems: string[] = [];
  const watch = (page: Page): void => {
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    problems,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    async stop() {
      await context.close().catch(() => undefined);
      releaseDir(profile);
    },
  };
}

/** Screenshots of the browser tests: git-ignored, kept after the run for a reader to look at. */
export const SHOT_DIR = join(REPO, 'test-output', 'cockpit');

/** The page's frame inside Cockpit's shell (`/bound-images` loads it as cockpit1:localhost/bound-images). */
export async function pageFrame(page: Page): Promise<Frame> {
  const name = 'cockpit1:localhost/bound-images';
  await page.waitForSelector(`iframe[name="${name}"]`, { timeout: 30_000 });
  let frame: Frame | null = null;
  await waitUntil('the bound-images frame', async () => (frame = page.frame({ name })) !== null, {
    timeoutMs: 30_000,
  });
  if (!frame) throw new Error('no bound-images frame');
  return frame;
}

/** Saves a screenshot of the whole browser page as SHOT_DIR/NAME.png; returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  await mkdir(SHOT_DIR, { recursive: true });
  const path = join(SHOT_DIR, `${name}.png`);
  // The pointer off the page's controls, so no button shows its hover colour.
  await page.mouse.move(0, page.viewportSize()?.height ?? 0);
  await page.screenshot({ path });
  return path;
}

/** One sample of the job card, taken by a MutationObserver inside the page. */
export interface ProgressSample {
  value: number;
  phase: string;
  state: string;
  /** The "Current image" value ('' when the page shows none). */
  current: string;
  /** Whether Cancel was offered. */
  cancel: boolean;
}

/**
 * The few browser globals the in-page probes use. The project is type-checked against Node's types
 * only; a probe reaches these through `globalThis` (it runs in Chromium, where they exist).
 */
interface ProbeElement {
  readonly textContent: string | null;
  readonly hidden: boolean;
  getAttribute(name: string): string | null;
}
interface ProbeGlobals {
  document: { getElementById(id: string): ProbeElement | null };
  MutationObserver: new (callback: () => void) => {
    observe(target: ProbeElement, options: Record<string, boolean>): void;
  };
  progressSamples: ProgressSample[];
}

/** Starts recording every change of the job card: progress bar, phase, state, current image, Cancel. */
export async function recordProgress(frame: Frame): Promise<void> {
  await frame.evaluate(() => {
    const g = globalThis as unknown as ProbeGlobals;
    const byId = (id: string): ProbeElement | null => g.document.getElementById(id);
    g.progressSamples = [];
    const card = byId('job-card');
    if (!card) throw new Error('the page has no #job-card');
    new g.MutationObserver(() =>
      g.progressSamples.push({
        value: Number(byId('job-progress')?.getAttribute('aria-valuenow') ?? '0'),
        phase: byId('job-phase')?.textContent ?? '',
        state: byId('job-state')?.textContent ?? '',
        current: byId('job-current')?.textContent ?? '',
        cancel: byId('job-cancel')?.hidden === false,
      }),
    ).observe(card, { subtree: true, attributes: true, childList: true, characterData: true });
  });
}

export function progressSamples(frame: Frame): Promise<ProgressSample[]> {
  return frame.evaluate(() => (globalThis as unknown as ProbeGlobals).progressSamples);
}

export interface TableRow {
  reference: string;
  state: string;
  /** The text of every cell: reference, source file, deployment root, state, image id. */
  cells: string[];
}

/** The table's entry rows (error rows below them left out). */
export async function tableRows(frame: Frame): Promise<TableRow[]> {
  const rows: TableRow[] = [];
  for (const tr of await frame.locator('#images-body tr.bi-row').all()) {
    rows.push({
      reference: (await tr.getAttribute('data-reference')) ?? '',
      state: (await tr.getAttribute('data-state')) ?? '',
      cells: (await tr.locator('th, td').allInnerTexts()).map((t) => t.trim()),
    });
  }
  return rows;
}

/** Waits until the element of `selector` contains `wanted`. */
export async function waitText(
  frame: Frame,
  selector: string,
  wanted: string,
  timeout = 60_000,
): Promise<void> {
  await frame.locator(selector).filter({ hasText: wanted }).waitFor({ timeout });
}

/** Waits until the table has exactly `n` entry rows. */
export async function waitRows(frame: Frame, n: number, timeout = 60_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while ((await frame.locator('#images-body tr.bi-row').count()) !== n) {
    if (Date.now() > deadline) throw new Error(`the table did not reach ${n} rows in ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
