// The journal sink: sends each message with its fields to journald through the native
// `systemd-journald` binding (sd_journal_sendv on /run/systemd/journal/socket). The binding is
// loaded on the first message; if it cannot be loaded, or a send throws, the message goes to the
// fallback sink instead of being lost, and the load failure is reported there once.
import type { JournalField } from './fields.js';
import type { JournaldBinding } from './native.js';
import { loadJournald } from './native.js';
import type { Sink } from './stderr-sink.js';

export interface JournalSinkOptions {
  /** SYSLOG_IDENTIFIER of every entry (journald would otherwise show `node`). */
  identifier: string;
  /** Where messages go when the native binding is unusable. */
  fallback: Sink;
  /** Loads the binding; replaceable only to inject a load failure in tests. */
  load?: () => JournaldBinding;
}

export function createJournalSink(opts: JournalSinkOptions): Sink {
  const load = opts.load ?? (() => loadJournald());
  let binding: JournaldBinding | null | undefined; // undefined: not tried yet; null: unusable

  function getBinding(): JournaldBinding | null {
    if (binding === undefined) {
      try {
        binding = load();
      } catch (err) {
        binding = null;
        opts.fallback.write(
          'err',
          `journal logging unavailable, logging to stderr: ${(err as Error).message}`,
          [],
        );
      }
    }
    return binding;
  }

  return {
    write(priority, message, fields: readonly JournalField[]) {
      const journald = getBinding();
      if (journald === null) {
        opts.fallback.write(priority, message, fields);
        return;
      }
      // The binding upper-cases names (ours already are), stringifies values, and takes the priority from the method.
      const record: Record<string, string> = { SYSLOG_IDENTIFIER: opts.identifier };
      for (const f of fields) record[f.name] = f.value;
      try {
        journald[priority](message, record);
      } catch (err) {
        opts.fallback.write(priority, message, fields);
        opts.fallback.write('err', `journal send failed: ${(err as Error).message}`, []);
      }
    },
  };
}
