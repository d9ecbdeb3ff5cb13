// The staged deployment in the status card, from the manager's StagedDeployment: which deployment
// ostree has staged, how many of its bound images are in the store, the missing ones, and whether
// its boot is held (the daemon holds ostree's finalization lock until every image is present).
import { decodeStaged, type StagedView } from './decode.js';
import { h } from './dom.js';
import { formatRelative, formatTime } from './format.js';

const _ = (s: string): string => cockpit.gettext(s);

function bootLabel(s: StagedView): HTMLElement {
  const [text, tone] =
    s.lock === 'held'
      ? [_('Reboot held until its images are present'), 'warning']
      : s.lock === 'other'
        ? [_('Finalization locked by someone else'), 'neutral']
        : s.complete
          ? [_('Ready to boot'), 'success']
          : [_('Images missing'), 'warning'];
  return h('span', { class: `bi-label bi-label--${tone}`, id: 'staged-boot' }, text);
}

/** The "Staged deployment" term and value, or nothing when nothing is staged (or the daemon cannot say). */
export function stagedItem(value: unknown, nowMs: number): HTMLElement[] {
  const s = decodeStaged(value);
  if (!s) return [];
  const lines: HTMLElement[] = [
    h('li', {}, h('span', { class: 'bi-mono', title: s.root }, s.deployment), ' ', bootLabel(s)),
    h(
      'li',
      {},
      cockpit.format(_('$0 of $1 bound images present'), s.imagesPresent, s.imagesTotal),
      s.reason ? h('span', { class: 'bi-muted' }, ` — ${s.reason}`) : null,
    ),
  ];
  if (s.missing.length > 0)
    lines.push(
      h(
        'li',
        {},
        _('Missing: '),
        ...s.missing.flatMap((m, i) => [i ? ', ' : '', h('span', { class: 'bi-mono' }, m)]),
      ),
    );
  if (s.nextRetry > 0)
    lines.push(
      h(
        'li',
        { class: 'bi-muted' },
        cockpit.format(
          _('Next retry: $0 ($1), after $2 attempts'),
          formatTime(s.nextRetry, ''),
          formatRelative(s.nextRetry, nowMs, cockpit.language),
          s.attempts,
        ),
      ),
    );
  return [
    h('dt', {}, _('Staged deployment')),
    h('dd', {}, h('ul', { class: 'bi-plain-list', id: 'staged' }, ...lines)),
  ];
}
