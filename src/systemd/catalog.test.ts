// systemd/bound-imaged.catalog (the journal catalog, `journalctl -x`) against MessageId: an entry for
// every MESSAGE_ID and none for an id the daemon does not log, each with a subject, a body, a man page
// that exists, and only @FIELD@ substitutions the event really carries.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MessageCatalog, MessageId, type MessageIdName } from './message-ids.js';

const CATALOG = fileURLToPath(new URL('../../systemd/bound-imaged.catalog', import.meta.url));
const MAN_SOURCES = fileURLToPath(new URL('../../docs/man/', import.meta.url));

interface CatalogEntry {
  id: string;
  /** 1-based line of the `-- ID` line. */
  line: number;
  headers: Map<string, string>;
  body: string;
}

/** The catalog format of journalctl(1): `-- ID [lang]`, `Key: value` headers, a blank line, the body. */
function parseCatalog(text: string): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  let current: (CatalogEntry & { inBody: boolean; bodyLines: string[] }) | null = null;
  const finish = (): void => {
    if (current) entries.push({ ...current, body: current.bodyLines.join('\n').trim() });
  };
  text.split('\n').forEach((raw, index) => {
    const start = /^-- ([0-9a-f]{32})(?: \S+)?$/.exec(raw);
    if (start) {
      finish();
      current = {
        id: start[1] ?? '',
        line: index + 1,
        headers: new Map(),
        body: '',
        inBody: false,
        bodyLines: [],
      };
      return;
    }
    if (current === null) {
      if (raw !== '' && !raw.startsWith('#'))
        throw new Error(`${CATALOG}:${index + 1}: text before any entry`);
      return;
    }
    if (raw.startsWith('#'))
      throw new Error(`${CATALOG}:${index + 1}: journalctl skips "#" lines inside an entry`);
    if (!current.inBody) {
      if (raw === '') {
        current.inBody = true;
        return;
      }
      const header = /^([A-Z][A-Za-z-]*): (.+)$/.exec(raw);
      if (!header) throw new Error(`${CATALOG}:${index + 1}: expected "Key: value" or a blank line`);
      current.headers.set(header[1] ?? '', header[2] ?? '');
      return;
    }
    current.bodyLines.push(raw);
  });
  finish();
  return entries;
}

const entries = parseCatalog(readFileSync(CATALOG, 'utf8'));
const nameOf = new Map<string, MessageIdName>(
  Object.entries(MessageId).map(([name, id]) => [id, name as MessageIdName]),
);

describe('systemd/bound-imaged.catalog', () => {
  it('has exactly one entry for every MESSAGE_ID the daemon logs, and no other', () => {
    const ids = entries.map((e) => e.id);
    expect(new Set(ids).size, 'an id with two entries').toBe(ids.length);
    const unknown = ids.filter((id) => !nameOf.has(id));
    expect(unknown, 'entries for ids that are not in MessageId').toEqual([]);
    const missing = Object.entries(MessageId)
      .filter(([, id]) => !ids.includes(id))
      .map(([name]) => name);
    expect(missing, 'MessageIds without a catalog entry').toEqual([]);
  });

  it.each(entries.map((e) => [nameOf.get(e.id) ?? e.id, e] as const))(
    '%s: subject, body, Defined-By and a man page that is shipped',
    (_name, entry) => {
      const where = `${CATALOG}:${entry.line}`;
      expect(entry.headers.get('Subject'), where).toMatch(/\S{3}/);
      expect(entry.headers.get('Defined-By'), where).toBe('bound-imaged');
      expect(entry.body.length, `${where}: body`).toBeGreaterThan(80);
      const docs = entry.headers.get('Documentation') ?? '';
      const page = /^man:([a-z.-]+)\(([1-8])\)$/.exec(docs);
      expect(page, `${where}: Documentation: man:PAGE(N)`).not.toBeNull();
      expect(existsSync(`${MAN_SOURCES}${page?.[1]}.${page?.[2]}.md`), `${where}: ${docs}`).toBe(true);
    },
  );

  it.each(entries.map((e) => [nameOf.get(e.id) ?? e.id, e] as const))(
    '%s: every @FIELD@ is a field the event carries',
    (name, entry) => {
      const info = MessageCatalog[name as MessageIdName];
      const used = [
        ...`${entry.headers.get('Subject') ?? ''}\n${entry.body}`.matchAll(/@([A-Za-z0-9_]+)@/g),
      ].map((m) => m[1]);
      for (const field of used) expect(info.fields, `${CATALOG}:${entry.line}: @${field}@`).toContain(field);
    },
  );

  it('reads the catalog format strictly (the parser refuses what journalctl would misread)', () => {
    expect(() => parseCatalog('stray\n')).toThrow(/text before any entry/);
    expect(() => parseCatalog(`-- ${'a'.repeat(32)}\nSubject x\n`)).toThrow(/"Key: value"/);
    expect(() => parseCatalog(`-- ${'a'.repeat(32)}\nSubject: x\n\n# note\n`)).toThrow(/"#" lines/);
    const [one] = parseCatalog(`-- ${'b'.repeat(32)} de\nSubject: s\n\nline 1\nline 2\n`);
    expect([one?.id, one?.headers.get('Subject'), one?.body]).toEqual([
      'b'.repeat(32),
      's',
      'line 1\nline 2',
    ]);
  });
});
