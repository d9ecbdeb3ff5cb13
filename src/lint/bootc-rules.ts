// How bootc would read one bound entry that bound-imaged accepts, and where that differs: bootc
// (crates/lib/src/boundimage.rs) reads only the unit file itself with a generic INI parser — no
// drop-ins, no `Image=NAME.image` resolution —, refuses any `AuthFile=` and any specifier but `%%`,
// ignores `Arch=`/`OS=`/`Variant=`, pulls the `Image=` text as written, and its prune
// (podstorage.rs prune_except_roots) keeps an image only when one of the names Podman stores for it
// is exactly that text.
import {
  QuadletError,
  expandSpecifiers,
  lastEntry,
  readValue,
  type BoundImageSpec,
} from '../quadlet/index.js';
import type { UnitEntry } from '../quadlet/index.js';
import { parseNormalizedReference, storeKeys } from '../reference/reference.js';
import { clip } from '../clip.js';
import type { Finding } from './findings.js';

const SECTION = { image: 'Image', container: 'Container' } as const;

function finding(rule: string, at: { file: string; line?: number }, message: string): Finding {
  return at.line === undefined
    ? { severity: 'bootc', rule, file: at.file, message }
    : { severity: 'bootc', rule, file: at.file, line: at.line, message };
}

/** bootc's parse_spec_value: `%%` → `%`, any other specifier refused (the Quadlet rule is the same). */
function bootcValue(entry: UnitEntry): { value: string } | { refused: string } {
  try {
    return { value: expandSpecifiers(entry.value, entry) };
  } catch (error) {
    if (error instanceof QuadletError) return { refused: error.detail };
    throw error;
  }
}

/** The value bound-imaged would use for this line (quotes removed, `%%` expanded), if it can read it. */
function ourValue(entry: UnitEntry): string | undefined {
  try {
    return readValue(entry);
  } catch (error) {
    if (error instanceof QuadletError) return undefined;
    throw error;
  }
}

/** True when the first path component names no registry (distribution's rule): a short name. */
function isShortName(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return true;
  const first = text.slice(0, slash);
  return !first.includes('.') && !first.includes(':') && first !== 'localhost';
}

/** The name to write so that bootc's text matches a name Podman stores: the digest form when pinned. */
function storedName(reference: string): { keys: string[]; suggest: string } {
  const keys = storeKeys(parseNormalizedReference(reference));
  return { keys, suggest: keys.find((k) => k.includes('@')) ?? keys[0] ?? reference };
}

function rawNameFinding(entry: UnitEntry, text: string, reference: string): Finding | undefined {
  const { keys, suggest } = storedName(reference);
  if (keys.includes(text)) return undefined;
  const written = `Image=${clip(text)}`;
  if (isShortName(text)) {
    return finding(
      'short-name',
      entry,
      `${written} is a short name: bound-imaged pulls ${reference}, bootc passes "${clip(text)}" to podman pull, where registries.conf decides the registry; and bootc's prune, comparing that text with the stored name ${suggest}, removes the image after every bootc upgrade. Write Image=${suggest}`,
    );
  }
  return finding(
    'raw-name',
    entry,
    `${written} is stored by Podman as ${suggest}; bootc's prune compares names as text, so it removes the image after every bootc upgrade (and pulls it again on the next). Write Image=${suggest}`,
  );
}

/**
 * The name bootc uses for an Image= that bound-imaged reads the same way. Quadlet removes one pair
 * of double quotes; bootc reads the file with a generic INI parser (the `tini` crate), which is not
 * Quadlet's parser, so a quoted value is reported, and the name check uses the unquoted text.
 */
function nameFindings(entry: UnitEntry, text: string, reference: string): Finding[] {
  const found: Finding[] = [];
  let name = text;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    name = text.slice(1, -1);
    found.push(
      finding(
        'quoted',
        entry,
        `Image=${clip(text)} is quoted: Quadlet removes the quotes, but bootc reads the file with a generic INI parser, not Quadlet's; write the value without quotes so that both read the same name`,
      ),
    );
  }
  const raw = rawNameFinding(entry, name, reference);
  if (raw !== undefined) found.push(raw);
  return found;
}

/** The AuthFile= findings of an entry whose unit is a `.image` file. */
function authFileFindings(spec: BoundImageSpec): Finding[] {
  const unit = spec.units[0];
  if (unit === undefined || unit.kind !== 'image') return [];
  const own = unit.files[0] === undefined ? undefined : lastEntry([unit.files[0]], SECTION.image, 'AuthFile');
  if (own !== undefined) {
    return [
      finding(
        'auth-file',
        own,
        `bootc refuses any AuthFile= in a bound .image ("AuthFile is not supported by bound bootc images"): its query fails, and with it bootc upgrade, switch and its prune`,
      ),
    ];
  }
  if (spec.authFileAt === undefined) return [];
  return [
    finding(
      'auth-file',
      spec.authFileAt,
      `AuthFile= comes from a drop-in, which bootc does not read: bootc pulls this image with its global pull secret only`,
    ),
  ];
}

/** Arch=/OS=/Variant= of the unit that gave the image: bootc pulls for the host's platform whatever they say. */
function platformFindings(spec: BoundImageSpec): Finding[] {
  const unit = spec.units[spec.units.length - 1];
  if (unit === undefined || unit.kind !== 'image') return [];
  const set = ['Arch', 'OS', 'Variant']
    .map((key) => lastEntry(unit.files, SECTION.image, key))
    .filter((e): e is UnitEntry => e !== undefined && e.value !== '');
  const first = set[0];
  if (first === undefined) return [];
  const written = set.map((e) => `${e.key}=${clip(e.value)}`).join(', ');
  return [
    finding(
      'platform',
      first,
      `${written}: bootc ignores Arch=, OS= and Variant= and pulls the image for the host's platform`,
    ),
  ];
}

/**
 * Where `bootc upgrade` would refuse this entry or bind something else than bound-imaged does.
 * `reference` is the normalized reference bound-imaged binds for it.
 */
export function bootcFindings(spec: BoundImageSpec, reference: string): Finding[] {
  const unit = spec.units[0];
  const own = unit?.files[0];
  if (unit === undefined || own === undefined) return [];
  const found = authFileFindings(spec);
  const ownImage = lastEntry([own], SECTION[unit.kind], 'Image');
  const winner = { file: spec.imageFile, line: spec.imageLine };
  if (ownImage === undefined) {
    found.push(
      finding(
        'drop-in-image',
        winner,
        `Image= is set only in the drop-in ${spec.imageFile}: bootc does not read drop-ins and fails on ${unit.path} ("Missing Image field"), and with it bootc upgrade`,
      ),
    );
    return [...found, ...platformFindings(spec)];
  }
  const read = bootcValue(ownImage);
  if ('refused' in read) {
    found.push(
      finding(
        'specifier',
        ownImage,
        `${read.refused}; bootc refuses it ("Systemd specifiers are not supported by bound bootc images") and does not read the drop-in ${spec.imageFile}:${spec.imageLine} that replaces it`,
      ),
    );
  } else if (spec.via !== undefined && read.value.endsWith('.image')) {
    found.push(
      finding(
        'image-file',
        ownImage,
        `Image=${clip(read.value)}: bootc does not resolve .image references and would pull "${clip(read.value)}" as an image name, which fails, and with it bootc upgrade (bound-imaged binds ${reference} from ${spec.sourceFile})`,
      ),
    );
  } else if (spec.via !== undefined || ourValue(ownImage) !== spec.image) {
    // A drop-in set the Image= that wins, to another value than the unit's own.
    found.push(
      finding(
        'drop-in-image',
        ownImage,
        `bootc does not read drop-ins: it binds Image=${clip(read.value)} from this line, but the service runs ${reference} (${spec.imageFile}:${spec.imageLine})`,
      ),
    );
  } else {
    found.push(...nameFindings(ownImage, read.value, reference));
  }
  return [...found, ...platformFindings(spec)];
}
