// The job card: the update being followed (started here or by the timer) — phase, progress bar,
// current image, images done, pulled and removed images, errors, why GC was skipped — with Cancel
// while it runs.
import type { JobView } from './decode.js';
import { breakable, byId, fill, h } from './dom.js';
import { formatTime, percent, resultTone } from './format.js';
import { label } from './view-status.js';

const _ = (s: string): string => cockpit.gettext(s);

function phaseText(phase: string): string {
  switch (phase) {
    case 'waiting':
      return _('Waiting for another update');
    case 'discover':
      return _('Reading the bound images of every root');
    case 'pull':
      return _('Pulling images');
    case 'gc':
      return _('Removing images no root binds');
    case 'done':
      return _('Done');
    default:
      return phase;
  }
}

function stateText(state: string): string {
  switch (state) {
    case 'running':
      return _('Running');
    case 'success':
      return _('Succeeded');
    case 'failed':
      return _('Failed');
    case 'cancelled':
      return _('Cancelled');
    default:
      return state;
  }
}

function list(id: string, items: string[], empty: string): HTMLElement {
  if (items.length === 0) return h('span', { id, class: 'bi-muted' }, empty);
  return h('ul', { id, class: 'bi-plain-list' }, ...items.map((i) => h('li', { class: 'bi-mono' }, i)));
}

export function renderJob(job: JobView, cancelError: string | null, cancelBlocked: string | null): void {
  const card = byId('job-card');
  card.hidden = false;
  const running = job.state === 'running';
  fill(
    byId('job-title'),
    cockpit.format(_('Update $0'), job.id ? `#${job.id}` : ''),
    ' ',
    label(stateText(job.state), resultTone(job.state), 'job-state'),
  );
  const pct = percent(job.progress);
  const bar = byId('job-progress');
  bar.setAttribute('aria-valuenow', String(pct));
  bar.setAttribute('aria-valuetext', `${pct}%`);
  bar.classList.toggle('bi-progress--danger', job.state === 'failed');
  bar.classList.toggle('bi-progress--success', job.state === 'success');
  bar.classList.toggle('bi-progress--warning', job.state === 'cancelled');
  byId('job-progress-fill').style.width = `${pct}%`;
  fill(byId('job-progress-value'), `${pct}%`);
  const counts =
    job.imagesTotal > 0 ? cockpit.format(_('$0 of $1 images'), job.imagesDone, job.imagesTotal) : '';
  fill(byId('job-phase'), phaseText(job.phase), counts ? ` · ${counts}` : '');

  const rows: HTMLElement[] = [];
  const add = (term: string, value: Node | string): void => {
    rows.push(h('dt', {}, term), h('dd', {}, value));
  };
  if (running)
    add(_('Current image'), h('span', { id: 'job-current', class: 'bi-mono' }, job.currentImage || '—'));
  add(_('Pulled'), list('job-pulled', job.pulled, _('nothing')));
  add(_('Removed'), list('job-removed', job.removed, _('nothing')));
  if (job.errors.length > 0)
    add(
      _('Errors'),
      h(
        'ul',
        { id: 'job-errors', class: 'bi-plain-list bi-errors' },
        ...job.errors.map((e) =>
          h(
            'li',
            {},
            h('span', { class: 'bi-mono bi-error-subject bi-wrap' }, breakable(e.subject)),
            h('span', {}, e.message),
          ),
        ),
      ),
    );
  if (job.gcSkipped) add(_('Clean-up skipped'), job.gcSkipped);
  if (job.result && job.result !== job.state) add(_('Result'), h('span', { id: 'job-result' }, job.result));
  add(_('Started'), formatTime(job.startTime, '—'));
  if (job.finishTime) add(_('Finished'), formatTime(job.finishTime, '—'));
  fill(byId('job-details'), ...rows);

  const cancel = byId<HTMLButtonElement>('job-cancel');
  cancel.hidden = !running;
  cancel.disabled = cancelBlocked !== null;
  const note = byId('job-cancel-note');
  const text = cancelError ?? cancelBlocked;
  note.hidden = !running || text === null;
  fill(note, text ?? '');
}
