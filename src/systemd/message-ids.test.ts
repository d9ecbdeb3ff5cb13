import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MessageCatalog, MessageId } from './message-ids.js';
import { isPriority } from './priority.js';

const docs = readFileSync(new URL('../../docs/logging.md', import.meta.url), 'utf8');

describe('MessageId', () => {
  const ids = Object.values(MessageId);

  it('has 128-bit ids as journald expects them: 32 lowercase hex digits', () => {
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('has no id twice', () => {
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('names every event of the spec', () => {
    expect(Object.keys(MessageId).sort()).toEqual(
      [
        'ReconcileStarted',
        'ReconcileSucceeded',
        'ReconcileFailed',
        'ReconcileCancelled',
        'ImagePulled',
        'ImagePullFailed',
        'ImageRemoved',
        'ImageUntagged',
        'GcSkipped',
        'DiscoveryError',
        'DaemonReady',
        'DaemonStopping',
        'ConfigError',
        'RootForgotten',
        'StagedLockTaken',
        'StagedLockReleased',
        'StagedLockNotOurs',
        'RebootDelayed',
      ].sort(),
    );
  });

  it('has a catalog entry per id, with a known priority and journal-style field names', () => {
    for (const [name, id] of Object.entries(MessageId)) {
      const info = MessageCatalog[name as keyof typeof MessageId];
      expect(info.id).toBe(id);
      expect(isPriority(info.priority)).toBe(true);
      for (const field of info.fields) expect(field).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });
});

describe('docs/logging.md', () => {
  // Table rows of the MESSAGE_ID table, as trimmed cells (Prettier pads them).
  const rows = docs
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .filter((cells) => /^`[0-9a-f]{32}`$/.test(cells[2] ?? ''));

  it('lists every MESSAGE_ID with its name, priority and fields, as in MessageCatalog', () => {
    for (const [name, info] of Object.entries(MessageCatalog)) {
      const cells = rows.find((r) => r[1] === `\`${name}\``);
      expect(cells, `docs/logging.md has no row for ${name}`).toBeDefined();
      expect(cells![2]).toBe(`\`${info.id}\``);
      expect(cells![3]).toBe(info.priority);
      expect(cells![5]).toBe(info.fields.map((f) => `\`${f}\``).join(', '));
    }
  });

  it('lists no id the code does not have, and each id once', () => {
    const documented = rows.map((r) => r[2]!.slice(1, -1));
    expect(documented.sort()).toEqual(Object.values(MessageId).sort());
  });

  it('uses only real ids in its journalctl examples', () => {
    const known = new Set<string>(Object.values(MessageId));
    for (const m of docs.matchAll(/MESSAGE_ID=([0-9a-f]{32})/g)) expect(known.has(m[1]!)).toBe(true);
  });
});
