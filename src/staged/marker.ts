// Which deployment ostree has staged, read the way libostree reads it: the marker file
// `<ostree-run-dir>/staged-deployment` is a serialized GVariant `a{sv}` whose `target` entry names
// the deployment (`osname`, and `name` = `<checksum>.<deployserial>`); a `locked` boolean (ostree ≥
// 2023.8, `ostree admin lock-finalization`, `bootc --download-only`) locks its finalization in the
// metadata itself. The deployment's root is `<sysroot>/ostree/deploy/<osname>/deploy/<name>`.
// A missing marker means nothing is staged; an unreadable or malformed one is an error naming the file.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { GVariantError, parseVardict, type GDict } from './gvariant.js';
import { errnoCode, isRecord } from '../errors.js';

/** ostree's file names in its run directory (/run/ostree on a host). */
export const STAGED_MARKER = 'staged-deployment';
export const FINALIZATION_LOCK = 'staged-deployment-locked';
/** A marker larger than this is not ostree's (it holds a few names and kernel arguments). */
const MAX_MARKER_BYTES = 1024 * 1024;

export interface StagedDeployment {
  /** The stateroot (ostree's osname). */
  osname: string;
  /** `<checksum>.<deployserial>`: the deployment directory's name. */
  name: string;
  /** `<osname>/<name>`: what identifies this staged deployment (a restage has a new serial). */
  id: string;
  /** The deployment root on this host. */
  root: string;
  /** ostree's own `locked` key in the marker: finalization is locked by whoever staged it. */
  lockedInMetadata: boolean;
}

export class StagedMarkerError extends Error {
  override name = 'StagedMarkerError';
}

const NAME = /^[0-9a-f]{64}\.\d+$/;
const OSNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Interprets the marker's dictionary; throws StagedMarkerError naming `file` and the field. */
export function stagedFromDict(dict: GDict, file: string, sysroot: string): StagedDeployment {
  const target = dict.target;
  if (!isRecord(target) || 'bytes' in target) {
    throw new StagedMarkerError(
      `${file}: no 'target' dictionary (is this ostree's staged-deployment marker?)`,
    );
  }
  const { name, osname } = target as GDict;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new StagedMarkerError(`${file}: target.name ${JSON.stringify(name)} is not '<checksum>.<serial>'`);
  }
  if (typeof osname !== 'string' || !OSNAME.test(osname) || osname === '..') {
    throw new StagedMarkerError(`${file}: target.osname ${JSON.stringify(osname)} is not a stateroot name`);
  }
  return {
    osname,
    name,
    id: `${osname}/${name}`,
    root: join(sysroot, 'ostree', 'deploy', osname, 'deploy', name),
    lockedInMetadata: dict.locked === true,
  };
}

/** The staged deployment, or null when `<runDir>/staged-deployment` does not exist. */
export async function readStagedDeployment(
  runDir: string,
  sysroot: string,
): Promise<StagedDeployment | null> {
  const file = join(runDir, STAGED_MARKER);
  let data: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new StagedMarkerError(`${file}: not a regular file`);
      if (info.size > MAX_MARKER_BYTES)
        throw new StagedMarkerError(`${file}: larger than ${MAX_MARKER_BYTES} bytes`);
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    if (err instanceof StagedMarkerError) throw err;
    throw new StagedMarkerError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let dict: GDict;
  try {
    dict = parseVardict(data);
  } catch (err) {
    if (err instanceof GVariantError)
      throw new StagedMarkerError(`${file}: not a GVariant a{sv}: ${err.message}`);
    throw err;
  }
  return stagedFromDict(dict, file, sysroot);
}
