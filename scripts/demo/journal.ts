// Where the demo's daemon logs, and showing those lines: a private systemd-journald (the harness's,
// in its own mount namespace) read with real `journalctl` output — short lines, and one entry as JSON
// with its MESSAGE_ID — or, when no private journald can be started, the fallback the daemon itself
// chooses: the host's journal when the host runs journald, else one line per entry on stderr.
import { existsSync } from 'node:fs';
import { MessageId } from '../../src/systemd/message-ids.js';
import type { JournaldHarness } from '../harness/journald.js';
import { startJournald } from '../harness/journald.js';
import { run, waitUntil } from '../harness/proc.js';
import { commandLine, type Output } from './output.js';
import { messageOf } from '../../src/errors.js';

const HOST_JOURNAL_SOCKET = '/run/systemd/journal/socket';

export type LogView =
  | { kind: 'journald'; journald: JournaldHarness }
  | { kind: 'host-journal'; pid: number }
  | { kind: 'stderr'; file: string; read(): string };

/** A private journald, or why there is none (the demo then falls back; see LogView). */
export async function tryStartJournald(): Promise<{ journald?: JournaldHarness; reason?: string }> {
  try {
    return { journald: await startJournald() };
  } catch (e) {
    return { reason: messageOf(e) };
  }
}

/** The view for a daemon started without a private journald (pid: the daemon's). */
export function fallbackView(pid: number, stderrFile: string, read: () => string): LogView {
  return existsSync(HOST_JOURNAL_SOCKET)
    ? { kind: 'host-journal', pid }
    : { kind: 'stderr', file: stderrFile, read };
}

type JournalView = Exclude<LogView, { kind: 'stderr' }>;

function journalctlArgs(view: JournalView, extra: string[]): string[] {
  if (view.kind === 'journald') return ['journalctl', '-D', view.journald.dir, ...extra];
  return ['journalctl', ...extra, `_PID=${view.pid}`];
}

/** One line describing where the log goes, for the sandbox summary. */
export function describeLogView(view: LogView): string {
  switch (view.kind) {
    case 'journald':
      return `a private systemd-journald (own mount namespace), journal files in ${view.journald.dir}`;
    case 'host-journal':
      return `the host's journal (no private journald could be started)`;
    case 'stderr':
      return `stderr, one line per entry (no journald here), kept in ${view.file}`;
  }
}

/** Waits until the journal holds the daemon's entry with `messageId` (journald writes asynchronously). */
async function waitForEntry(view: JournalView, messageId: string): Promise<void> {
  if (view.kind === 'journald') {
    await view.journald.waitForEntries([`MESSAGE_ID=${messageId}`]);
    return;
  }
  const args = journalctlArgs(view, [`MESSAGE_ID=${messageId}`, '-o', 'json', '--no-pager']);
  await waitUntil(
    `the daemon's ${messageId} entry in the host's journal`,
    async () => (await run(args[0] as string, args.slice(1))).stdout.trim() !== '',
    { timeoutMs: 10_000, intervalMs: 100 },
  );
}

/**
 * Prints the daemon's log of the run. `removedImage`: the image GC removed, whose ImageRemoved entry
 * is shown as JSON. `expectStop`: the daemon was stopped, so its DaemonStopping entry is awaited.
 */
export async function showLogs(
  out: Output,
  view: LogView,
  opts: { removedImage: string; expectStop: boolean },
): Promise<void> {
  if (view.kind === 'stderr') {
    out.command(['cat', view.file]);
    out.block(view.read());
    return;
  }
  await waitForEntry(view, opts.expectStop ? MessageId.DaemonStopping : MessageId.ImageRemoved);
  const short = journalctlArgs(view, ['-t', 'bound-imaged', '-o', 'short', '--no-hostname', '--no-pager']);
  out.command(short);
  out.block((await run(short[0] as string, short.slice(1))).stdout);
  out.say('\nEvery event has a stable MESSAGE_ID (docs/logging.md); the removal, as JSON:');
  const json = journalctlArgs(view, [
    `MESSAGE_ID=${MessageId.ImageRemoved}`,
    `IMAGE=${opts.removedImage}`,
    '-o',
    'json-pretty',
    '--output-fields=MESSAGE,MESSAGE_ID,PRIORITY,JOB_ID,IMAGE,IMAGE_ID',
    '--no-pager',
  ]);
  out.command(json);
  out.block((await run(json[0] as string, json.slice(1))).stdout);
}

/** The command that follows the daemon's log live, for --keep. */
export function followLogCommand(view: LogView): string {
  if (view.kind === 'stderr') return commandLine(['tail', '-f', view.file]);
  return commandLine(journalctlArgs(view, ['-t', 'bound-imaged', '-f']));
}
