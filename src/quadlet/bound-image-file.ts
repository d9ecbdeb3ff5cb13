// What a bound `.image` or `.container` Quadlet file binds: its `Image=` (after drop-ins), and for
// `.image` files the `AuthFile=` and the platform (`Arch=`, `OS=`, `Variant=`). A `.container` whose
// `Image=` names a `.image` file binds that file's image. All reading goes through the loader given.
import { posix } from 'node:path';

import type { Platform } from '../types.js';
import { QuadletError } from './quadlet-error.js';
import { lastEntry, parseUnitFile, type UnitEntry, type UnitFile } from './unit-file.js';
import { readValue } from './unit-value.js';
import { clip } from '../clip.js';
import { messageOf } from '../errors.js';

/** A file the loader read. */
export interface LoadedFile {
  /** Root-absolute path the requested path resolved to (symbolic links followed inside the root). */
  path: string;
  text: string;
}

/** Reads files of one root. Paths are root-absolute (`/usr/share/containers/systemd/a.image`). */
export interface QuadletLoader {
  /** Read a file; throws an Error whose message says why it cannot be read. */
  read(rootPath: string): Promise<LoadedFile>;
  /** Root-absolute paths of `<unitRootPath>.d/*.conf`, sorted by name; [] when the directory is absent. */
  listDropIns(unitRootPath: string): Promise<string[]>;
}

/** A Quadlet unit read for one entry: the unit file, then its drop-ins, each parsed. */
export interface ReadUnit {
  /** Root-absolute path of the unit file (after links). */
  path: string;
  kind: Kind;
  /** The unit first, then its drop-ins in the order they apply. */
  files: UnitFile[];
}

/** Something in a bound file that was not used but does not stop the entry (e.g. an unusable Variant=). */
export interface SpecNote {
  file: string;
  line: number;
  message: string;
}

/** The image one bound Quadlet file names, before reference normalization. */
export interface BoundImageSpec {
  /** The `Image=` value as used: quotes removed, `%%` expanded. */
  image: string;
  /** The `Image=` value as written. */
  rawImage: string;
  /** Root-absolute path of the Quadlet unit the image comes from (the `.image` file when reached through a `.container`). */
  sourceFile: string;
  /** Root-absolute path of the file holding the `Image=` line that won (the unit or one of its drop-ins). */
  imageFile: string;
  /** 1-based line of that `Image=` in `imageFile`. */
  imageLine: number;
  /** Root-absolute path of `AuthFile=` (relative values resolved against the unit file's directory). */
  authFile?: string;
  /** Where the winning `AuthFile=` was written, when there is one. */
  authFileAt?: { file: string; line: number };
  platform?: Platform;
  /** Root-absolute paths of the `.container` files that led here through `Image=NAME.image`. */
  via?: string[];
  /** Every unit read, in the order they were reached: the `.container`, then the `.image` it names. */
  units: ReadUnit[];
  /** Values that were passed over, with where they are written. */
  notes?: SpecNote[];
}

export type Kind = 'image' | 'container';
const SECTION: Record<Kind, string> = { image: 'Image', container: 'Container' };
const PLATFORM_KEYS = [
  ['Arch', 'architecture'],
  ['OS', 'os'],
  ['Variant', 'variant'],
] as const;
/** One component of an OCI platform (`linux`, `arm64`, `v8`): it is sent to Podman as `OS/ARCH/VARIANT`. */
export const PLATFORM_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function kindOf(path: string): Kind | undefined {
  if (path.endsWith('.image')) return 'image';
  if (path.endsWith('.container')) return 'container';
  return undefined;
}

/** The unit file itself could not be read (missing, dangling, not a regular file, …). */
class UnreadableUnitError extends QuadletError {}

function reason(error: unknown): string {
  return messageOf(error);
}

/** A unit file and its drop-ins, parsed, in the order their assignments apply. */
async function loadUnit(
  requested: string,
  loader: QuadletLoader,
): Promise<{ path: string; units: UnitFile[] }> {
  let main: LoadedFile;
  try {
    main = await loader.read(requested);
  } catch (error) {
    if (error instanceof QuadletError) {
      throw new UnreadableUnitError(error.file, error.detail, error.line, { cause: error });
    }
    throw new UnreadableUnitError(requested, `cannot be read: ${reason(error)}`, undefined, { cause: error });
  }
  const units = [parseUnitFile(main.text, main.path)];
  let dropIns: string[];
  try {
    dropIns = await loader.listDropIns(main.path);
  } catch (error) {
    if (error instanceof QuadletError) throw error;
    throw new QuadletError(
      `${main.path}.d`,
      `drop-in directory cannot be read: ${reason(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  for (const dropIn of dropIns) {
    let loaded: LoadedFile;
    try {
      loaded = await loader.read(dropIn);
    } catch (error) {
      if (error instanceof QuadletError) throw error;
      throw new QuadletError(dropIn, `drop-in cannot be read: ${reason(error)}`, undefined, { cause: error });
    }
    units.push(parseUnitFile(loaded.text, loaded.path));
  }
  return { path: main.path, units };
}

/** The winning `Image=` of `[section]`, read; missing or empty is an error naming file and section. */
function imageValue(path: string, units: UnitFile[], section: string): { entry: UnitEntry; image: string } {
  const entry = lastEntry(units, section, 'Image');
  if (entry === undefined) {
    const also = units.length > 1 ? ' (nor in its drop-ins)' : '';
    throw new QuadletError(path, `no Image= in section [${section}]${also}`);
  }
  const image = readValue(entry);
  if (image === '') throw new QuadletError(entry.file, `empty Image= in section [${section}]`, entry.line);
  return { entry, image };
}

/** An optional key of `[section]`: undefined when absent or set to the empty string (systemd's reset). */
function optionalValue(
  units: UnitFile[],
  section: string,
  key: string,
): { entry: UnitEntry; value: string } | undefined {
  const entry = lastEntry(units, section, key);
  if (entry === undefined) return undefined;
  const value = readValue(entry);
  return value === '' ? undefined : { entry, value };
}

async function resolveImageUnit(requested: string, loader: QuadletLoader): Promise<BoundImageSpec> {
  const { path, units } = await loadUnit(requested, loader);
  const { entry, image } = imageValue(path, units, SECTION.image);
  const spec: BoundImageSpec = {
    image,
    rawImage: entry.value,
    sourceFile: path,
    imageFile: entry.file,
    imageLine: entry.line,
    units: [{ path, kind: 'image', files: units }],
  };
  const auth = optionalValue(units, SECTION.image, 'AuthFile');
  if (auth !== undefined) {
    spec.authFile = posix.resolve(posix.dirname(path), auth.value);
    spec.authFileAt = { file: auth.entry.file, line: auth.entry.line };
  }
  const platform: Platform = {};
  for (const [key, field] of PLATFORM_KEYS) {
    const found = optionalValue(units, SECTION.image, key);
    if (found === undefined) continue;
    if (!PLATFORM_VALUE.test(found.value) && key === 'Variant') {
      // Podman matches a variant it does not know (`arm/v5`) by falling back to an image without a
      // variant, the one a pull without Variant= gets: the entry stays bound, the value is reported.
      (spec.notes ??= []).push({
        file: found.entry.file,
        line: found.entry.line,
        message: `Variant=${clip(found.value)} is not a platform variant (letters, digits, ".", "_", "-"): ignored, the image is pulled for the host's default variant`,
      });
      continue;
    }
    if (!PLATFORM_VALUE.test(found.value)) {
      throw new QuadletError(
        found.entry.file,
        `${key}=${clip(found.value)}: not a valid platform value`,
        found.entry.line,
      );
    }
    platform[field] = found.value;
  }
  if (Object.keys(platform).length > 0) spec.platform = platform;
  return spec;
}

async function resolveContainerUnit(requested: string, loader: QuadletLoader): Promise<BoundImageSpec> {
  const { path, units } = await loadUnit(requested, loader);
  const { entry, image } = imageValue(path, units, SECTION.container);
  if (image.endsWith('.build')) {
    throw new QuadletError(entry.file, `Image=${clip(image)}: built images cannot be bound`, entry.line);
  }
  const container: ReadUnit = { path, kind: 'container', files: units };
  if (!image.endsWith('.image')) {
    return {
      image,
      rawImage: entry.value,
      sourceFile: path,
      imageFile: entry.file,
      imageLine: entry.line,
      units: [container],
    };
  }
  if (image.includes('/')) {
    throw new QuadletError(
      entry.file,
      `Image=${clip(image)}: a value ending in ".image" names a Quadlet .image file in the same directory and cannot contain "/"`,
      entry.line,
    );
  }
  const imagePath = posix.join(posix.dirname(path), image);
  let target: BoundImageSpec;
  try {
    target = await resolveImageUnit(imagePath, loader);
  } catch (error) {
    if (!(error instanceof QuadletError)) throw error;
    if (error instanceof UnreadableUnitError) {
      // The .image file itself is missing or unreadable: the fault is this Image= line.
      throw new QuadletError(
        entry.file,
        `Image=${clip(image)} names ${imagePath}, which ${error.detail}`,
        entry.line,
        {
          cause: error,
        },
      );
    }
    throw new QuadletError(
      error.file,
      `${error.detail} (in ${imagePath}, bound by ${path} with Image=${clip(image)})`,
      error.line,
      {
        cause: error,
      },
    );
  }
  return { ...target, via: [path, ...(target.via ?? [])], units: [container, ...target.units] };
}

/**
 * Resolve one bound Quadlet file (`unitRootPath` ends in `.image` or `.container`) to the image it
 * binds. Throws QuadletError naming the file (and line) at fault.
 */
export async function resolveBoundImageFile(
  unitRootPath: string,
  loader: QuadletLoader,
): Promise<BoundImageSpec> {
  const kind = kindOf(unitRootPath);
  if (kind === undefined) {
    throw new QuadletError(unitRootPath, 'not a Quadlet .image or .container file');
  }
  return kind === 'image'
    ? resolveImageUnit(unitRootPath, loader)
    : resolveContainerUnit(unitRootPath, loader);
}
