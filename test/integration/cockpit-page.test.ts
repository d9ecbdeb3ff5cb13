// The Cockpit page in a real browser: Debian's cockpit-ws (local session, no login) and cockpit-bridge
// on loopback, the bridge on the test's private system bus with the real daemon, Podman and a
// loopback registry (behind a throttling proxy, so a pull lasts long enough to be watched), and
// headless Chromium through playwright-core. The page lists the bound images, "Update now" runs a
// reconcile followed live to success, a reconcile started elsewhere (as the timer does) shows up and
// its GC takes an unbound image out of the table, Cancel stops a pull, a broken file is an error entry,
// the page re-reads after a daemon restart, fits a phone's width, works from the keyboard, follows the
// dark style; a session without administrative access sees "Update now" disabled with the reason, and
// a bus without the daemon is said to be so. Screenshots of every step: test-output/cockpit/.
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, startSandbox, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import {
  buildCockpitPackage,
  pageFrame,
  progressSamples,
  recordProgress,
  shot,
  startBrowser,
  startCockpitWs,
  tableRows,
  waitRows,
  waitText,
  type Browser,
  type CockpitWs,
} from './cockpit-harness.js';
import {
  ensureBuilt,
  getProperty,
  JOB_IFACE,
  makeRoot,
  NOBODY,
  startDaemon,
  startSlowProxy,
  upgrade,
  type DaemonConfig,
  type DaemonProcess,
  type SlowProxy,
} from './daemon-harness.js';
import { storeNames } from './reconcile-harness.js';

/** getComputedStyle, reached through globalThis inside the page (the project has no DOM types). */
interface ComputedStyle {
  getComputedStyle(el: unknown): { display: string; backgroundColor: string };
}

const INVALID = '#images-body tr.bi-row[data-state="invalid"]';
const NOT_PRESENT = '#images-body tr.bi-row:not([data-state="present"])';
/** Registry → Podman rate for ordinary pulls: ~4 s for the first update, long enough to watch. */
const FAST = 2 * 1024 * 1024;
const SLOW = 40 * 1024;
const BOUND = 'usr/lib/bootc/bound-images.d';
const UNITS = 'usr/share/containers/systemd';

let sandbox: Sandbox;
let proxy: SlowProxy;
let bus: PrivateBus;
let daemon: DaemonProcess;
let ws: CockpitWs;
let browser: Browser;
let root: string;
let configFile: string;
let config: DaemonConfig;
let page: Page;
let frame: Frame;
const ref: Record<'app' | 'db' | 'extra' | 'late', string> = { app: '', db: '', extra: '', late: '' };

beforeAll(async () => {
  await Promise.all([ensureBuilt(), buildCockpitPackage()]);
  const port = await freePort();
  sandbox = await startSandbox({ insecureRegistries: [`127.0.0.1:${port}`] });
  const made = (await sandbox.makeImages([
    { name: 'app', size: 3 * 1024 * 1024 },
    { name: 'db', layers: 2, size: 3 * 1024 * 1024 },
    { name: 'extra' },
    { name: 'late', size: 2 * 1024 * 1024 },
  ])) as MadeImage[];
  proxy = await startSlowProxy(port, { host: '127.0.0.1', port: sandbox.registry.port }, FAST);
  for (const img of made)
    ref[img.name as keyof typeof ref] = img.reference.replace(sandbox.registry.host, proxy.host);
  bus = await startPrivateBus();
  const dir = makeTempDir('cockpit-page');
  // Shaped like an ostree deployment, so the screenshots read like a host's.
  root = await makeRoot(join(dir, 'ostree/deploy/default/deploy/8c3b1a0e5f2d.0'), [
    { name: 'app.image', image: ref.app },
    { name: 'db.container', image: ref.db },
    { name: 'extra.image', image: ref.extra },
  ]);
  configFile = join(dir, 'config.ini');
  config = {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
  };
  daemon = await startDaemon(bus, configFile, config);
  ws = await startCockpitWs(bus);
  browser = await startBrowser();
});

afterAll(async () => {
  await browser?.stop();
  await ws?.stop();
  await daemon?.stop();
  await bus?.stop();
  await proxy?.stop();
  await sandbox?.stop();
});

const text = (selector: string): Promise<string> => frame.locator(selector).innerText();

const waitFor = (selector: string, wanted: string): Promise<void> => waitText(frame, selector, wanted);

describe('the Bound images page, as root', () => {
  it('shows the bound images with their root and the daemon state', async () => {
    page = await browser.newPage({ width: 1280, height: 1000 });
    await page.goto(`${ws.url}/bound-images`);
    frame = await pageFrame(page);
    await frame.waitForSelector('#images-body tr.bi-row:nth-child(3)', { timeout: 30_000 });
    const rows = await tableRows(frame);
    expect(rows.map((r) => [r.reference, r.state]).sort()).toEqual(
      [ref.app, ref.db, ref.extra].map((r) => [r, 'missing']).sort(),
    );
    const app = rows.find((r) => r.reference === ref.app);
    expect(app?.cells).toEqual([ref.app, `/${UNITS}/app.image`, root, 'Missing', '—']);
    expect(await text('#daemon-state')).toBe('Idle');
    expect(await text('#last-result')).toBe('none yet');
    expect(await text('#status-list')).toContain(root);
    expect(await frame.locator('#update-now').isEnabled()).toBe(true);
    await shot(page, '01-loaded');
  });

  it('"Update now" runs a reconcile, followed live to success', async () => {
    await recordProgress(frame);
    await frame.click('#update-now');
    await waitFor('#job-phase', 'Pulling images');
    await shot(page, '02-pulling');
    await waitFor('#job-state', 'Succeeded');
    const samples = await progressSamples(frame);
    const values = samples.map((s) => s.value);
    // Seen moving: a value strictly between 0 and 100, never going back, ending at 100.
    expect(values.some((v) => v > 0 && v < 100)).toBe(true);
    expect(values.every((v, i) => i === 0 || v >= (values[i - 1] ?? 0))).toBe(true);
    expect(values.at(-1)).toBe(100);
    expect(samples.some((s) => s.phase.startsWith('Pulling images'))).toBe(true);
    // While it ran: the image being pulled, and Cancel offered; at the end, neither.
    const pulling = samples.filter((s) => /app|db|extra/.test(s.current));
    expect(pulling.length).toBeGreaterThan(0);
    expect(pulling.every((s) => s.cancel && s.state === 'Running')).toBe(true);
    expect(samples.at(-1)).toMatchObject({ current: '', cancel: false, state: 'Succeeded' });
    expect((await text('#job-pulled')).split('\n').sort()).toEqual([ref.app, ref.db, ref.extra].sort());
    expect(await frame.locator('#job-cancel').isVisible()).toBe(false);
    await waitFor('#last-result', 'success');
    await waitUntil('every row present', async () => (await frame.locator(NOT_PRESENT).count()) === 0, {
      timeoutMs: 30_000,
    });
    for (const row of await tableRows(frame)) expect(row.cells[4]).toMatch(/^[0-9a-f]{12}$/);
    await shot(page, '03-success');
  });

  it('follows a reconcile started elsewhere; GC takes the unbound image out of the table', async () => {
    await rm(join(root, BOUND, 'extra.image'));
    // As the timer's bound-imaged-reconcile.service does: Upgrade from another client.
    const job = await upgrade(bus, '0');
    await waitFor('#job-title', `#${job.split('/').pop()}`);
    await waitFor('#job-state', 'Succeeded');
    expect(await text('#job-removed')).toContain(ref.extra);
    await waitRows(frame, 2);
    expect((await tableRows(frame)).map((r) => r.reference).sort()).toEqual([ref.app, ref.db].sort());
    expect(await storeNames(sandbox.podman)).not.toContain(ref.extra);
    await shot(page, '04-gc');
  });

  it('Cancel stops a running update', async () => {
    await writeFile(join(root, UNITS, 'late.image'), `[Image]\nImage=${ref.late}\n`);
    await symlink(`/${UNITS}/late.image`, join(root, BOUND, 'late.image'));
    proxy.setRate(SLOW);
    await frame.click('#update-now');
    await waitFor('#job-current', ref.late);
    await frame.click('#job-cancel');
    await waitFor('#job-state', 'Cancelled');
    proxy.setRate(FAST);
    expect(await text('#job-title')).toContain('Cancelled');
    await waitFor('#last-result', 'cancelled');
    await shot(page, '05-cancelled');
    await rm(join(root, BOUND, 'late.image'));
  });

  it('shows a broken file as an error entry, in the job and in the table (started by keyboard)', async () => {
    await writeFile(
      join(root, UNITS, 'broken.image'),
      '[Image]\nImage=quay.io/example/ok:1\nthis line has no equals sign\n',
    );
    await symlink(`/${UNITS}/broken.image`, join(root, BOUND, 'broken.image'));
    await frame.locator('#update-now').focus();
    await page.keyboard.press('Enter');
    await waitFor('#job-state', 'Failed');
    // The pressed button is disabled while the update runs: the focus moved to the update's title.
    expect(await frame.locator(':focus').getAttribute('id')).toBe('job-title');
    expect(await text('#job-errors')).toContain('broken.image');
    expect(await text('#last-result')).toMatch(/^failed/);
    await frame.waitForSelector('#images-body tr[data-state="invalid"]');
    const invalid = (await tableRows(frame)).find((r) => r.state === 'invalid');
    expect(invalid?.reference).toBe('broken.image');
    expect(invalid?.cells.slice(1, 4)).toEqual([`/${UNITS}/broken.image`, root, 'Invalid']);
    const detail = await text('#images-body tr[data-error-for="broken.image"]');
    expect(detail).toContain('line 3');
    await shot(page, '06-error');
  });

  it('reads everything again when the service comes back (a restart, an idle exit)', async () => {
    await daemon.stop();
    await rm(join(root, BOUND, 'broken.image'));
    daemon = await startDaemon(bus, configFile, config);
    // No job ran: the new listing comes from the page noticing the name's new owner.
    await waitUntil('the invalid row to go', async () => (await frame.locator(INVALID).count()) === 0, {
      timeoutMs: 30_000,
    });
    expect((await tableRows(frame)).map((r) => r.reference).sort()).toEqual([ref.app, ref.db].sort());
    // The page follows the new daemon's job (whatever its number), not the old one's.
    const before = await text('#job-title');
    await frame.click('#update-now');
    await waitUntil('a new job followed', async () => (await text('#job-title')) !== before, {
      timeoutMs: 30_000,
    });
    const job = /#(\d+)/.exec(await text('#job-title'))?.[1];
    expect(job).toBeDefined();
    await waitFor('#job-state', 'Succeeded');
    expect(await getProperty(bus, `/org/bootc/BoundImages/job/${job}`, JOB_IFACE, 'State')).toBe(
      's "success"',
    );
  });

  it('fits a phone: no sideways scrolling, rows stacked, and the keyboard reaches "Update now" first', async () => {
    const phone = await browser.newPage({ width: 390, height: 844 });
    await phone.goto(`${ws.url}/bound-images`);
    const f = await pageFrame(phone);
    await f.waitForSelector('#images-body tr.bi-row');
    const overflow = await f
      .locator('html')
      .evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth - el.clientWidth);
    expect(overflow).toBe(0);
    const display = await f
      .locator('#images-body tr.bi-row')
      .first()
      .evaluate((el) => (globalThis as unknown as ComputedStyle).getComputedStyle(el).display);
    expect(display).toBe('block');
    await shot(phone, '07-phone');
    // The page on its own (as the shell's frame loads it): Tab goes to the first control.
    await phone.goto(`${ws.url}/cockpit/@localhost/bound-images/index.html`);
    await phone.waitForSelector('#images-body tr.bi-row');
    await phone.keyboard.press('Tab');
    expect(await phone.locator(':focus').getAttribute('id')).toBe('update-now');
    await phone.close();
  });

  it("follows the shell's dark style", async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await frame.locator('html.pf-theme-dark').waitFor();
    const background = await frame
      .locator('body')
      .evaluate((el) => (globalThis as unknown as ComputedStyle).getComputedStyle(el).backgroundColor);
    expect(background).toBe('rgb(27, 29, 33)');
    await shot(page, '09-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await frame.locator('html:not(.pf-theme-dark)').waitFor();
  });

  it('logged no console errors', () => {
    expect(browser.problems).toEqual([]);
  });
});

describe('the Bound images page, without administrative access', () => {
  let nobodyWs: CockpitWs | undefined;

  afterAll(async () => {
    await nobodyWs?.stop();
  });

  it('lists the images but disables "Update now" with the reason', async () => {
    nobodyWs = await startCockpitWs(bus, { uid: NOBODY });
    const p = await browser.newPage({ width: 1280, height: 1000 });
    await p.goto(`${nobodyWs.url}/bound-images`);
    const f = await pageFrame(p);
    await f.waitForSelector('#images-body tr.bi-row');
    await f.locator('#update-now:disabled').waitFor();
    await f.waitForSelector('#update-reason:not([hidden])');
    expect(await f.locator('#update-reason').innerText()).toContain('administrative access');
    expect((await tableRows(f)).map((r) => r.reference)).toContain(ref.app);
    await shot(p, '08-no-admin');
    await p.close();
    expect(browser.problems).toEqual([]);
  });
});

describe('the Bound images page, without the service on the bus', () => {
  let emptyBus: PrivateBus | undefined;
  let emptyWs: CockpitWs | undefined;
  let lateDaemon: DaemonProcess | undefined;

  afterAll(async () => {
    await lateDaemon?.stop();
    await emptyWs?.stop();
    await emptyBus?.stop();
  });

  it('says the service is not available, offers no update, and comes alive when it appears', async () => {
    emptyBus = await startPrivateBus();
    emptyWs = await startCockpitWs(emptyBus);
    const p = await browser.newPage({ width: 1280, height: 1000 });
    const problems = browser.problems.length;
    await p.goto(`${emptyWs.url}/bound-images`);
    const f = await pageFrame(p);
    await f.locator('#page-error:not([hidden])').waitFor({ timeout: 30_000 });
    expect(await f.locator('#page-error').innerText()).toContain('not available');
    await f.locator('#update-now:disabled').waitFor();
    expect(await f.locator('#update-reason').innerText()).toContain('not available');
    expect(await f.locator('#images-empty').innerText()).toContain('cannot be listed');
    await shot(p, '10-unavailable');
    // The service comes up (installed, or activated by another client): the page notices by itself.
    lateDaemon = await startDaemon(emptyBus, join(makeTempDir('cockpit-late'), 'config.ini'), {
      ...config,
      stateDirectory: makeTempDir('cockpit-late-state'),
    });
    await f.locator('#images-body tr.bi-row').first().waitFor({ timeout: 30_000 });
    expect(await f.locator('#page-error').isHidden()).toBe(true);
    expect(await f.locator('#update-now').isEnabled()).toBe(true);
    await p.close();
    expect(browser.problems.slice(problems)).toEqual([]);
  });
});
