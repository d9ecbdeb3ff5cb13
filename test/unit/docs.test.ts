// Keeps the documentation honest against the things it describes: the D-Bus XML (dbus-api.md), the
// src/ folders, files and functions (architecture.md and every doc that names them), relative links,
// MESSAGE_IDs, configuration keys, unit files and the error texts operations.md quotes.
// Not repeated here (each has its test beside its table): every key, default and rule of
// docs/configuration.md is checked by src/config/shipped-files.test.ts, and every MESSAGE_ID row of
// docs/logging.md by src/systemd/message-ids.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/index.js';
import { MessageId } from '../../src/systemd/message-ids.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function read(path: string): string {
  return readFileSync(join(REPO, path), 'utf8');
}

/** README.md and every docs/*.md, as repository-relative paths. */
const DOCS = [
  'README.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** Markdown without fenced code blocks and inline code: what a link scan should read. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = slug(m[1] ?? '');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every relative link target of a document: [text](target), without http(s), mailto. */
function relativeLinks(text: string): string[] {
  const links: string[] = [];
  for (const m of prose(text).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
    const target = m[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    links.push(target);
  }
  return links;
}

describe('relative links in README.md and docs/*.md', () => {
  it.each(DOCS)('%s: every relative link points at an existing file and heading', (doc) => {
    const text = read(doc);
    const links = relativeLinks(text);
    for (const link of links) {
      const [file = '', anchor] = link.split('#');
      const target = file === '' ? doc : normalize(join(dirname(doc), decodeURIComponent(file)));
      expect(target.startsWith('..'), `${doc}: ${link} leaves the repository`).toBe(false);
      expect(existsSync(join(REPO, target)), `${doc}: ${link} → ${target} does not exist`).toBe(true);
      if (anchor !== undefined && anchor !== '' && target.endsWith('.md')) {
        expect(anchors(read(target)).has(anchor), `${doc}: ${link}: no heading #${anchor} in ${target}`).toBe(
          true,
        );
      }
    }
  });

  it('the scan finds links, anchors included, and skips code', () => {
    const sample =
      '[a](x.md) [b](#roots-and-globs) `[c](nope.md)` [d](https://example.com)\n```\n[e](f.md)\n```\n';
    expect(relativeLinks(sample)).toEqual(['x.md', '#roots-and-globs']);
    expect(anchors('## Roots and globs\n## `[pull]` keys\n## Roots and globs\n')).toEqual(
      new Set(['roots-and-globs', 'pull-keys', 'roots-and-globs-1']),
    );
  });
});

interface XmlMember {
  kind: 'method' | 'property' | 'signal';
  name: string;
  /** Property type; for methods the in-argument types, for signals every argument type. */
  types: string[];
  /** Methods only: the out-argument types. */
  out: string[];
}

/** Interfaces and their members from introspection XML (the file's own simple, regular form). */
function parseXml(xml: string): Map<string, XmlMember[]> {
  const noComments = xml.replace(/<!--[\s\S]*?-->/g, '');
  const interfaces = new Map<string, XmlMember[]>();
  const attr = (tag: string, name: string): string => new RegExp(`${name}="([^"]*)"`).exec(tag)?.[1] ?? '';
  for (const iface of noComments.matchAll(/<interface name="([^"]+)">([\s\S]*?)<\/interface>/g)) {
    const members: XmlMember[] = [];
    const body = iface[2] ?? '';
    for (const m of body.matchAll(/<(method|signal)\s+name="([^"]+)"\s*(\/>|>([\s\S]*?)<\/\1>)/g)) {
      const args = [...(m[4] ?? '').matchAll(/<arg\b[^>]*>/g)].map((a) => a[0]);
      const kind = m[1] as 'method' | 'signal';
      members.push({
        kind,
        name: m[2] ?? '',
        types: args
          .filter((a) => kind === 'signal' || attr(a, 'direction') !== 'out')
          .map((a) => attr(a, 'type')),
        out:
          kind === 'method'
            ? args.filter((a) => attr(a, 'direction') === 'out').map((a) => attr(a, 'type'))
            : [],
      });
    }
    for (const p of body.matchAll(/<property\b[^>]*>/g)) {
      members.push({ kind: 'property', name: attr(p[0], 'name'), types: [attr(p[0], 'type')], out: [] });
    }
    interfaces.set(iface[1] ?? '', members);
  }
  return interfaces;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `text` has a table row `| \`name\` | \`type\` |` (any padding). */
function documentsProperty(text: string, name: string, type: string): boolean {
  return new RegExp(`^\\|\\s*\`${escape(name)}\`\\s*\\|\\s*\`${escape(type)}\`\\s*\\|`, 'm').test(text);
}

/**
 * The argument types of a heading that names `name` with its signature, e.g. ### \`Upgrade(a{sv} options) → (o job)\`
 * gives { args: ['a{sv}'], rest: ' → (o job)' }; null when no heading names it so.
 */
function documentedSignature(text: string, name: string): { args: string[]; rest: string } | null {
  const m = new RegExp(`^#+ .*\`${escape(name)}\\(([^)]*)\\)([^\`]*)\``, 'm').exec(text);
  if (!m) return null;
  const args = (m[1] ?? '')
    .split(',')
    .map((a) => a.trim().split(/\s+/)[0] ?? '')
    .filter((t) => t !== '');
  return { args, rest: m[2] ?? '' };
}

describe('docs/dbus-api.md', () => {
  const interfaces = parseXml(read('dbus/org.bootc.BoundImages.xml'));
  const doc = read('docs/dbus-api.md');
  // The manager's section runs up to the Job heading; the job's from there.
  const jobAt = doc.search(/^## Job: /m);
  const sections: Record<string, string> = {
    'org.bootc.BoundImages': doc.slice(0, jobAt),
    'org.bootc.BoundImages.Job': doc.slice(jobAt),
  };

  it('the XML parses into both interfaces with their members', () => {
    expect([...interfaces.keys()]).toEqual(['org.bootc.BoundImages', 'org.bootc.BoundImages.Job']);
    const manager = interfaces.get('org.bootc.BoundImages') ?? [];
    expect(manager.find((m) => m.name === 'Upgrade')).toEqual({
      kind: 'method',
      name: 'Upgrade',
      types: ['a{sv}'],
      out: ['o'],
    });
    expect(manager.find((m) => m.name === 'JobRemoved')?.types).toEqual(['o', 's']);
    expect(jobAt).toBeGreaterThan(0);
  });

  it('the checks reject a wrong type, a missing member and a wrong signature', () => {
    const sample = '### `Upgrade(a{sv} options) → (o job)`\n\n| `State` | `s` | idle |\n';
    expect(documentsProperty(sample, 'State', 's')).toBe(true);
    expect(documentsProperty(sample, 'State', 'u')).toBe(false);
    expect(documentsProperty(sample, 'Roots', 'as')).toBe(false);
    expect(documentedSignature(sample, 'Upgrade')).toEqual({ args: ['a{sv}'], rest: ' → (o job)' });
    expect(documentedSignature(sample, 'Cancel')).toBeNull();
  });

  for (const [iface, members] of interfaces) {
    describe(iface, () => {
      it.each(members.filter((m) => m.kind === 'property'))(
        'property $name is in its table with its type',
        (m) => {
          expect(
            documentsProperty(sections[iface] ?? '', m.name, m.types[0] ?? ''),
            `${iface}.${m.name}`,
          ).toBe(true);
        },
      );

      it.each(members.filter((m) => m.kind !== 'property'))(
        '$kind $name is named with its signature',
        (m) => {
          const sig = documentedSignature(sections[iface] ?? '', m.name);
          expect(sig, `${iface}.${m.name} has no heading with its signature`).not.toBeNull();
          expect(sig?.args).toEqual(m.types);
          for (const t of m.out) expect(sig?.rest).toContain(t);
        },
      );
    });
  }
});

/** Folders directly under src/. */
const SRC_FOLDERS = readdirSync(join(REPO, 'src')).filter((f) =>
  statSync(join(REPO, 'src', f)).isDirectory(),
);

/** Text of every non-test TypeScript file under src/ and scripts/. */
function collect(dir: string): string {
  return readdirSync(join(REPO, dir))
    .map((f) => {
      const path = `${dir}/${f}`;
      if (statSync(join(REPO, path)).isDirectory()) return collect(path);
      return f.endsWith('.ts') && !f.endsWith('.test.ts') ? read(path) : '';
    })
    .join('\n');
}
const SOURCE = `${collect('src')}\n${collect('scripts')}`;

/** `name()` or `Class.name()` in backticks: the functions a document names. */
function namedFunctions(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/`(?:[A-Za-z_$][\w$]*\.)?([A-Za-z_$][\w$]*)\(\)`/g)) names.add(m[1] ?? '');
  return [...names];
}

/** Whether `name` is declared under src/ or scripts/: a function, a method, an accessor or a const. */
function declared(name: string): boolean {
  const n = escape(name);
  return new RegExp(
    `(?:function\\s+${n}\\b|(?:const|let)\\s+${n}\\s*=|^\\s*(?:(?:public|private|static|async|get|override)\\s+)*${n}\\s*[(<])`,
    'm',
  ).test(SOURCE);
}

describe('docs/architecture.md', () => {
  const doc = read('docs/architecture.md');

  it('names every folder under src/', () => {
    expect(SRC_FOLDERS.length).toBeGreaterThan(5);
    for (const folder of SRC_FOLDERS) expect(doc, `src/${folder}/`).toContain(`\`src/${folder}/\``);
  });

  it('names the top-level files of src/', () => {
    const files = readdirSync(join(REPO, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    for (const f of files) expect(doc, `src/${f}`).toContain(`src/${f}`);
  });

  it('names every source file of a folder it describes file by file', () => {
    // The module table names each folder's files by their base name; a file added later must be placed.
    for (const folder of SRC_FOLDERS) {
      for (const f of readdirSync(join(REPO, 'src', folder))) {
        if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f === 'index.ts') continue;
        expect(doc, `src/${folder}/${f}`).toContain(f);
      }
    }
  });
});

describe('code named in the docs exists', () => {
  it.each(['docs/architecture.md', 'docs/comparison.md', 'docs/fleet.md', 'docs/operations.md'])(
    '%s: every function it names is declared in src/ or scripts/',
    (doc) => {
      const names = namedFunctions(read(doc));
      if (doc === 'docs/architecture.md') expect(names.length).toBeGreaterThan(40);
      for (const name of names)
        expect(declared(name), `${doc}: ${name}() is declared neither in src/ nor in scripts/`).toBe(true);
    },
  );

  it('the declaration check tells a declaration from a missing name', () => {
    expect(declared('runReconcile')).toBe(true); // export async function
    expect(declared('liveRoots')).toBe(true); // async method
    expect(declared('noSuchFunctionAnywhere')).toBe(false);
  });

  it.each(DOCS)('%s: every repository path it names exists', (doc) => {
    for (const m of read(doc).matchAll(/`((?:src|scripts|test|systemd|dbus|config|docs)\/[\w./-]*[\w/])`/g)) {
      const path = m[1] ?? '';
      expect(existsSync(join(REPO, path)), `${doc}: ${path}`).toBe(true);
    }
  });

  it.each(DOCS)('%s: every `[section] key` it names is a configuration key', (doc) => {
    const known = new Set(CONFIG_KEYS.map((k) => `${k.section}.${k.key}`));
    for (const m of read(doc).matchAll(/`\[([a-z]+)\] ([a-z-]+)/g)) {
      expect(known.has(`${m[1]}.${m[2]}`), `${doc}: [${m[1]}] ${m[2]}`).toBe(true);
    }
  });

  it.each(DOCS)('%s: every MESSAGE_ID= it uses is one of MessageId', (doc) => {
    const ids = new Set<string>(Object.values(MessageId));
    for (const m of read(doc).matchAll(/MESSAGE_ID=([0-9a-f]+)/g)) {
      expect(ids.has(m[1] ?? ''), `${doc}: MESSAGE_ID=${m[1]}`).toBe(true);
    }
  });

  it('configuration.md and logging.md are checked by the tests beside their tables', () => {
    expect(read('src/config/shipped-files.test.ts')).toContain('docs/configuration.md');
    expect(read('src/systemd/message-ids.test.ts')).toContain('docs/logging.md');
  });
});

describe('docs/operations.md and docs/fleet.md against the unit files', () => {
  const ops = read('docs/operations.md');
  const fleet = read('docs/fleet.md');
  const timer = read('systemd/bound-imaged-reconcile.timer');

  it('names every unit file in systemd/', () => {
    for (const unit of readdirSync(join(REPO, 'systemd'))) expect(ops, unit).toContain(`\`${unit}\``);
  });

  it.each(['OnBootSec', 'OnCalendar', 'RandomizedDelaySec', 'Persistent'])(
    'quotes the timer’s %s as shipped',
    (key) => {
      const value = new RegExp(`^${key}=(.+)$`, 'm').exec(timer)?.[1]?.trim();
      expect(value, key).toBeDefined();
      expect(ops).toContain(`${key}=${value}`);
      expect(fleet).toContain(`${key}=${value}`);
    },
  );

  it('quotes the Podman service’s idle exit as shipped', () => {
    const time = /system service --time=(\d+)/.exec(read('systemd/bound-imaged-podman.service'))?.[1];
    expect(time).toBeDefined();
    expect(ops).toContain(`--time=${time}`);
    expect(fleet).toContain(`after ${time} s`);
  });
});

describe('docs/operations.md quotes the messages the code writes', () => {
  const ops = read('docs/operations.md');
  // [text as operations.md shows it, the file that writes it]
  const quoted: [string, string][] = [
    ['failed (attempt', 'src/reconcile/journal.ts'],
    ['), retrying: ', 'src/reconcile/journal.ts'],
    ['GC skipped: ', 'src/reconcile/journal.ts'],
    ['pull(s) failed', 'src/reconcile/run.ts'],
    ['bound-image file error(s)', 'src/reconcile/run.ts'],
    ['the Podman service behind the socket serves', 'src/reconcile/run.ts'],
    ['refusing to pull or remove anything', 'src/reconcile/run.ts'],
    ['does not exist (is the Podman service running?)', 'src/store/errors.ts'],
    ['refuses connections', 'src/store/errors.ts'],
    ['is not accessible (permission denied)', 'src/store/errors.ts'],
    ['not valid JSON', 'src/store/auth.ts'],
    ['cannot list the store', 'src/reconcile/inventory.ts'],
    ['is not supported in bound images', 'src/quadlet/unit-value.ts'],
    ['it must end with', 'src/quadlet/unit-file.ts'],
  ];

  it.each(quoted)('“%s” (from %s)', (text, file) => {
    expect(ops).toContain(text);
    expect(read(file)).toContain(text);
  });
});
