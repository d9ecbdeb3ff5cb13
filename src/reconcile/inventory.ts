// The inventory behind ListBoundImages and ListBoundImagesByRoot: every discovered entry of the
// configured roots, with the root it was found in and its state in the store — present (with the
// image id), missing, failed (last pull error) or invalid (the file's error), or unknown when the
// store cannot be listed (Podman down): the bindings are still shown, each with the reason. Reads
// the store once; changes nothing.
import { messageOf } from '../errors.js';
import type { Job } from './job.js';
import { discoveryErrorPlace } from './journal.js';
import { collectWanted, findInStore } from './plan.js';
import type { RunDeps } from './run.js';

export type InventoryState = 'present' | 'missing' | 'failed' | 'invalid' | 'unknown';

export interface InventoryRow {
  /** The deployment root the entry was found in (absolute host path). */
  root: string;
  reference: string;
  sourceFile: string;
  state: InventoryState;
  /** The image id when present, the error when failed or invalid, why when unknown, empty when missing. */
  detail: string;
}

export async function listInventory(
  deps: Pick<RunDeps, 'discover' | 'store'>,
  lastJob?: Job,
): Promise<InventoryRow[]> {
  const discoveries = await deps.discover([]);
  const wanted = collectWanted(discoveries);
  // Without bindings the store need not be asked; when it cannot be listed, say so on every binding.
  const stored =
    wanted.length === 0 ? [] : await deps.store.listImages().catch((err: unknown) => storeProblem(err));
  const lastErrors = new Map((lastJob?.errors ?? []).map((e) => [e.subject, e.message]));
  const rows: InventoryRow[] = [];
  for (const w of wanted) {
    let state: InventoryState;
    let detail: string;
    if (!Array.isArray(stored)) {
      [state, detail] = ['unknown', stored.reason];
    } else {
      const image = findInStore(w.reference, stored);
      const error = lastErrors.get(w.reference);
      state = image ? 'present' : error ? 'failed' : 'missing';
      detail = image ? image.id : (error ?? '');
    }
    for (const s of w.sources)
      rows.push({ root: s.root, reference: w.reference, sourceFile: s.sourceFile, state, detail });
  }
  for (const d of discoveries) {
    for (const e of d.errors) {
      // A file as the root sees it (like the bound rows); an entry or the root itself on the host.
      const where = e.file ?? discoveryErrorPlace(e);
      rows.push({
        root: e.root,
        reference: e.entry ?? '',
        sourceFile: where,
        state: 'invalid',
        detail: e.line ? `line ${e.line}: ${e.message}` : e.message,
      });
    }
  }
  return rows;
}

function storeProblem(err: unknown): { reason: string } {
  return { reason: `cannot list the store: ${messageOf(err)}` };
}
