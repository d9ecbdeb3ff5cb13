// The Bound images page of Cockpit: wires the D-Bus client to the three views (status, job, table)
// and keeps them current — the manager's PropertiesChanged, the followed job's, JobRemoved — so an
// update started by the timer or another client shows up as it runs. The rules of who may act are
// in access.ts; what is shown how, in format.ts.
import { actionBlock, errorText, isAccessDenied, type ActionBlock } from './access.js';
import { BoundImagesClient } from './client.js';
import { decodeStaged, type BoundImageRow, type JobView, type ManagerView } from './decode.js';
import { byId, fill } from './dom.js';
import { followShellTheme } from './theme.js';
import { renderImages } from './view-images.js';
import { renderJob } from './view-job.js';
import { blockText, renderStatus } from './view-status.js';

const _ = (s: string): string => cockpit.gettext(s);
/** How long after a pull or removal the table is listed again (several in a burst: one listing). */
const RELIST_DELAY_MS = 400;

class Page {
  private manager: ManagerView | null = null;
  private job: JobView | null = null;
  private rows: BoundImageRow[] = [];
  /** Whether `rows` holds a successful listing (until then the table says "Loading…"). */
  private listed = false;
  /** The staged deployment's root (StagedDeployment's Root), marked in the table; empty: none. */
  private stagedRoot = '';
  private available = true;
  private deniedMessage: string | null = null;
  private cancelError: string | null = null;
  private starting = false;
  private relistTimer: ReturnType<typeof setTimeout> | undefined;
  private listedFor = '';
  private readonly permission = cockpit.permission({ admin: true });
  private readonly client: BoundImagesClient;

  constructor() {
    this.client = new BoundImagesClient({
      manager: (m) => this.onManager(m),
      job: (j) => this.onJob(j),
      jobRemoved: (path) => this.onJobRemoved(path),
      // A restarted service is read again; a first owner only if the page found no service before.
      ownerChanged: (first) => {
        if (!first || !this.available) void this.load();
      },
    });
    this.permission.addEventListener('changed', () => this.renderStatus());
    byId('update-now').addEventListener('click', () => void this.updateNow());
    byId('job-cancel').addEventListener('click', () => void this.cancel());
    // Relative times ("3 minutes ago") age while the page is open.
    setInterval(() => this.renderStatus(), 30_000);
  }

  private get block(): ActionBlock | null {
    return actionBlock({
      permission: this.permission.allowed,
      deniedMessage: this.deniedMessage,
      daemonAvailable: this.available,
    });
  }

  /** Reads everything: the manager (activating the service when needed), the table, a running job. */
  async load(): Promise<void> {
    try {
      await this.client.readManager();
      this.available = true;
      this.setPageError(null);
    } catch (error) {
      this.available = false;
      this.setPageError(`${blockText({ kind: 'unavailable' })} (${errorText(error)})`);
      this.renderStatus();
      renderImages([], _('the service is not available.'));
      return;
    }
    await this.relist();
  }

  private async relist(): Promise<void> {
    try {
      this.rows = await this.client.listImages();
      this.listed = true;
      renderImages(this.rows, null, this.stagedRoot);
    } catch (error) {
      renderImages(this.rows, errorText(error), this.stagedRoot);
    }
  }

  private scheduleRelist(): void {
    clearTimeout(this.relistTimer);
    this.relistTimer = setTimeout(() => void this.relist(), RELIST_DELAY_MS);
  }

  private onManager(m: ManagerView): void {
    this.manager = m;
    this.renderStatus();
    const stagedRoot = decodeStaged(m.staged)?.root ?? '';
    if (stagedRoot !== this.stagedRoot) {
      this.stagedRoot = stagedRoot;
      if (this.listed) renderImages(this.rows, null, stagedRoot);
    }
    // A job started elsewhere (the timer, the command line): follow it.
    if (m.currentJob !== '/' && m.currentJob !== this.client.followedJob) void this.follow(m.currentJob);
  }

  private onJob(j: JobView): void {
    const before = this.job;
    this.job = j;
    if (j.state !== 'running') this.cancelError = null;
    const cancelFocused = document.activeElement?.id === 'job-cancel';
    this.renderStatus();
    // Cancel disappears when the job ends: keep the keyboard focus in the card.
    if (cancelFocused && j.state !== 'running') byId('job-title').focus();
    // Each image pulled or removed changes the table: list it again, once per burst.
    const moved = `${j.path} ${j.pulled.length} ${j.removed.length}`;
    if (before && moved !== this.listedFor && (j.pulled.length > 0 || j.removed.length > 0))
      this.scheduleRelist();
    this.listedFor = moved;
  }

  private onJobRemoved(_path: string): void {
    // Whichever job ended, the store may have changed: the table is listed again.
    clearTimeout(this.relistTimer);
    void this.relist();
  }

  private async follow(path: string): Promise<void> {
    try {
      await this.client.follow(path);
    } catch (error) {
      this.setPageError(cockpit.format(_('Cannot follow $0: $1'), path, errorText(error)));
    }
  }

  private async updateNow(): Promise<void> {
    if (this.starting) return;
    this.starting = true;
    this.setPageError(null);
    byId<HTMLButtonElement>('update-now').disabled = true;
    try {
      const path = await this.client.upgrade();
      await this.follow(path);
      // The pressed button is now disabled: keyboard focus goes to the update it started.
      byId('job-title').focus();
    } catch (error) {
      if (isAccessDenied(error)) this.deniedMessage = errorText(error);
      else this.setPageError(cockpit.format(_('The update could not be started: $0'), errorText(error)));
    } finally {
      this.starting = false;
      this.renderStatus();
    }
  }

  private async cancel(): Promise<void> {
    const job = this.job;
    if (!job || job.state !== 'running') return;
    byId<HTMLButtonElement>('job-cancel').disabled = true;
    try {
      await this.client.cancel(job.path);
      this.cancelError = null;
    } catch (error) {
      if (isAccessDenied(error)) this.deniedMessage = errorText(error);
      this.cancelError = cockpit.format(_('Cancel failed: $0'), errorText(error));
    }
    if (this.job) renderJob(this.job, this.cancelError, this.cancelBlock());
    this.renderStatus();
  }

  private cancelBlock(): string | null {
    const block = this.block;
    return block ? blockText(block) : null;
  }

  private renderStatus(): void {
    if (!this.manager) {
      renderStatus(null, this.block, false, Date.now());
      return;
    }
    const running = this.starting || this.job?.state === 'running' || this.manager.state === 'reconciling';
    renderStatus(this.manager, this.block, running, Date.now());
    byId('app').setAttribute('aria-busy', String(this.starting));
    if (this.job) renderJob(this.job, this.cancelError, this.cancelBlock());
  }

  private setPageError(text: string | null): void {
    const alert = byId('page-error');
    alert.hidden = text === null;
    fill(byId('page-error-text'), text ?? '');
  }
}

followShellTheme();
const page = new Page();
void page.load();
