// The bound images table: reference, source file, deployment root, state in the store and image id,
// one row per entry and root; a failed or invalid entry carries its error in a row right below it.
// At a phone's width the rows become stacked cards (labels from data-label).
import type { BoundImageRow } from './decode.js';
import { breakable, byId, fill, h } from './dom.js';
import { countStates, shortId, sortRows, stateTone } from './format.js';
import { label } from './view-status.js';

const _ = (s: string): string => cockpit.gettext(s);

function stateText(state: string): string {
  switch (state) {
    case 'present':
      return _('Present');
    case 'missing':
      return _('Missing');
    case 'failed':
      return _('Pull failed');
    case 'invalid':
      return _('Invalid');
    default:
      return state;
  }
}

function cell(name: string, ...content: (Node | string)[]): HTMLTableCellElement {
  return h('td', { 'data-label': name }, ...content);
}

function summary(rows: readonly BoundImageRow[]): string {
  if (rows.length === 0) return '';
  const c = countStates(rows);
  const parts = (['present', 'missing', 'failed', 'invalid'] as const)
    .filter((s) => c[s])
    .map((s) => `${c[s]} ${stateText(s).toLowerCase()}`);
  return parts.join(', ');
}

/** `stagedRoot`: the staged deployment's root, whose rows say so; empty when none is staged. */
export function renderImages(
  rows: readonly BoundImageRow[],
  loadError: string | null,
  stagedRoot = '',
): void {
  const body = byId('images-body');
  fill(byId('images-summary'), summary(rows));
  const empty = byId('images-empty');
  if (loadError !== null) {
    fill(body);
    empty.hidden = false;
    fill(empty, h('strong', {}, _('The bound images cannot be listed: ')), loadError);
    return;
  }
  if (rows.length === 0) {
    fill(body);
    empty.hidden = false;
    fill(empty, _('No root binds an image: no entry in usr/lib/bootc/bound-images.d.'));
    return;
  }
  empty.hidden = true;
  const out: HTMLTableRowElement[] = [];
  for (const r of sortRows(rows)) {
    const bad = r.state === 'failed' || r.state === 'invalid';
    const name = r.reference || _('(no reference)');
    out.push(
      h(
        'tr',
        {
          class: bad ? 'bi-row bi-row--error' : 'bi-row',
          'data-state': r.state,
          'data-reference': r.reference,
        },
        h('th', { scope: 'row', 'data-label': _('Reference'), class: 'bi-mono bi-wrap' }, breakable(name)),
        cell(_('Source file'), h('span', { class: 'bi-mono bi-wrap' }, breakable(r.sourceFile))),
        cell(
          _('Deployment root'),
          h('span', { class: 'bi-mono bi-wrap' }, r.root ? breakable(r.root) : '—'),
          r.root && r.root === stagedRoot ? h('span', {}, ' ', label(_('staged'), 'info')) : '',
        ),
        cell(_('State'), label(stateText(r.state), stateTone(r.state))),
        cell(
          _('Image ID'),
          r.state === 'present' ? h('span', { class: 'bi-mono', title: r.detail }, shortId(r.detail)) : '—',
        ),
      ),
    );
    if (bad && r.detail)
      out.push(
        h(
          'tr',
          { class: 'bi-row-detail', 'data-error-for': r.reference },
          h(
            'td',
            { colspan: 5 },
            h(
              'div',
              { class: 'bi-inline-alert', role: 'note' },
              h('span', { class: 'bi-inline-alert__icon', 'aria-hidden': 'true' }, '!'),
              h('span', { class: 'bi-sr-only' }, _('Error: ')),
              r.detail,
            ),
          ),
        ),
      );
  }
  fill(body, ...out);
}
