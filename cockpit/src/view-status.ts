// The status card: the daemon's State, LastResult, LastReconcileTime, Roots, store and version, the
// staged deployment when the daemon reports one, and the "Update now" button with the reason it is
// disabled, when it is.
import type { ActionBlock } from './access.js';
import type { ManagerView } from './decode.js';
import { byId, fill, h } from './dom.js';
import { formatRelative, formatTime, resultTone } from './format.js';
import { stagedItem } from './view-staged.js';

const _ = (s: string): string => cockpit.gettext(s);

export function label(text: string, tone: string, id?: string): HTMLElement {
  return h('span', { class: `bi-label bi-label--${tone}`, ...(id ? { id } : {}) }, text);
}

function item(term: string, ...value: (Node | string)[]): HTMLElement[] {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

/** The reason text of a disabled "Update now". */
export function blockText(block: ActionBlock): string {
  switch (block.kind) {
    case 'unavailable':
      return _('The bound-imaged service is not available on this host.');
    case 'no-admin':
      return _(
        'Updating needs administrative access: the service lets only root start or cancel an update. ' +
          'Turn on administrative access from the top bar to use it.',
      );
    case 'denied':
      return cockpit.format(_('The service refused this session: $0'), block.message);
  }
}

/** The status list (empty while the manager is unknown) and the state of "Update now". */
export function renderStatus(
  m: ManagerView | null,
  block: ActionBlock | null,
  running: boolean,
  nowMs: number,
): void {
  renderButton(block, running);
  if (m) fillStatus(m, nowMs);
  else fill(byId('status-list'));
}

function renderButton(block: ActionBlock | null, running: boolean): void {
  const button = byId<HTMLButtonElement>('update-now');
  button.disabled = block !== null || running;
  const reason = byId('update-reason');
  if (block) fill(reason, blockText(block));
  else if (running) fill(reason, _('An update is running; its progress is shown below.'));
  else fill(reason);
  reason.hidden = !block && !running;
}

function fillStatus(m: ManagerView, nowMs: number): void {
  const result = m.lastResult || _('none yet');
  const when = m.lastReconcileTime
    ? [
        h(
          'time',
          { datetime: new Date(m.lastReconcileTime / 1000).toISOString() },
          formatTime(m.lastReconcileTime, ''),
        ),
        h(
          'span',
          { class: 'bi-muted' },
          ` (${formatRelative(m.lastReconcileTime, nowMs, cockpit.language)})`,
        ),
      ]
    : [_('never')];
  const roots =
    m.roots.length > 0
      ? h('ul', { class: 'bi-plain-list' }, ...m.roots.map((r) => h('li', { class: 'bi-mono' }, r)))
      : _('none configured');
  fill(
    byId('status-list'),
    ...item(
      _('State'),
      label(
        m.state === 'reconciling' ? _('Updating') : _('Idle'),
        m.state === 'reconciling' ? 'info' : 'neutral',
        'daemon-state',
      ),
    ),
    ...item(_('Last result'), label(result, resultTone(m.lastResult), 'last-result')),
    ...item(_('Last update'), h('span', { id: 'last-time' }, ...when)),
    ...item(_('Roots'), roots),
    ...item(_('Image store'), h('span', { class: 'bi-mono' }, m.storePath || '—')),
    ...item(_('Version'), m.version || '—'),
    // The staged deployment, when the service reports one (its StagedDeployment property).
    ...stagedItem(m.staged, nowMs),
  );
}
