// Findings about the consumers of a bound image: a bound `.container` must tell its Podman to read
// the bound store (`GlobalArgs=--storage-opt=additionalimagestore=/usr/lib/bootc/storage`, as
// bootc's documentation asks), else Podman does not see the bound image and pulls its own copy
// when the service starts; nor may it ask for a pull at every start (`Pull=always`/`newer`). Also
// the values discovery passed over (an unusable `Variant=`).
import { posix } from 'node:path';

import { lastEntry, type BoundImageSpec, type UnitEntry } from '../quadlet/index.js';
import { clip } from '../clip.js';
import type { Finding } from './findings.js';

/** The bound store as the units on a bootc host name it. */
export const BOUND_STORE = '/usr/lib/bootc/storage';
const OPTION = 'additionalimagestore=';
/** Podman's pull policies (ParsePullPolicy, case-insensitive) that go to the registry at every start. */
const PULLS_AT_START = new Set(['always', 'newer', 'ifnewer']);

/**
 * The words of one `GlobalArgs=` value, as Quadlet splits it (systemd's rules, relaxed): separated
 * by whitespace; double and single quotes group and are removed; a backslash keeps the next
 * character.
 */
export function splitArgs(value: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? '';
    if (c === '\\' && quote !== "'" && i + 1 < value.length) {
      word = (word ?? '') + (value[++i] ?? '');
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function isBoundStore(setting: string): boolean {
  if (!setting.startsWith(OPTION)) return false;
  const path = setting.slice(OPTION.length);
  return path.startsWith('/') && posix.normalize(`${path}/`) === `${BOUND_STORE}/`;
}

/** True when the words hold `--storage-opt=additionalimagestore=STORE` or `--storage-opt additionalimagestore=STORE`. */
export function readsBoundStore(words: readonly string[]): boolean {
  return words.some((word, i) => {
    if (word.startsWith('--storage-opt=')) return isBoundStore(word.slice('--storage-opt='.length));
    return word === '--storage-opt' && isBoundStore(words[i + 1] ?? '');
  });
}

function globalArgs(spec: BoundImageSpec): UnitEntry[] {
  const unit = spec.units[0];
  if (unit === undefined || unit.kind !== 'container') return [];
  return unit.files.flatMap((f) =>
    f.entries.filter((e) => e.section === 'Container' && e.key === 'GlobalArgs'),
  );
}

/** Warnings about how the bound image will be used, for an entry discovery accepted. */
export function consumerFindings(spec: BoundImageSpec, reference: string): Finding[] {
  const found: Finding[] = (spec.notes ?? []).map((note) => ({
    severity: 'warning',
    rule: 'ignored-value',
    file: note.file,
    line: note.line,
    message: note.message,
  }));
  const unit = spec.units[0];
  if (unit === undefined || unit.kind !== 'container') return found;
  // An empty GlobalArgs= resets the list in Quadlet: only what follows the last empty one counts.
  const all = globalArgs(spec);
  let start = 0;
  all.forEach((e, i) => {
    if (e.value === '') start = i + 1;
  });
  const words = all.slice(start).flatMap((e) => splitArgs(e.value));
  const pull = lastEntry(unit.files, 'Container', 'Pull');
  const policy = pull?.value.replace(/^"(.*)"$/, '$1').toLowerCase();
  if (pull !== undefined && policy !== undefined && PULLS_AT_START.has(policy)) {
    found.push({
      severity: 'warning',
      rule: 'pull-policy',
      file: pull.file,
      line: pull.line,
      message: `Pull=${clip(pull.value)}: Podman asks the registry at every start and pulls a copy of ${clip(reference)} into its own store when it differs, whatever the bound store holds; leave Pull= unset (missing) to use the bound image`,
    });
  }
  if (!readsBoundStore(words)) {
    found.push({
      severity: 'warning',
      rule: 'no-bound-store',
      file: unit.path,
      message: `this bound .container has no GlobalArgs=--storage-opt=${OPTION}${BOUND_STORE}: its Podman does not look in the bound store and pulls its own copy of ${clip(reference)} when the service starts`,
    });
  }
  return found;
}
