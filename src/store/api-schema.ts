// Validation of what the Podman (Docker-compatible) API answers: every field we use is checked,
// nothing is cast. A malformed answer is a StoreError naming the call and the field.
import { StoreError } from './errors.js';
import type { PullProgressEvent, StoredImage, StoreInfo } from './types.js';
import { clip } from '../clip.js';
import { isRecord } from '../errors.js';

/** An image id as Podman writes it, with or without `sha256:`; group 1 is the hex. */
export const IMAGE_ID = /^(?:sha256:)?([0-9a-f]{64})$/;

function bad(call: string, what: string): StoreError {
  return new StoreError(`${call}: unexpected answer from Podman: ${what}`);
}

function stringList(call: string, where: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw bad(call, `${where} is not a list of strings`);
  return v as string[];
}

function imageId(call: string, where: string, v: unknown): string {
  const m = typeof v === 'string' ? IMAGE_ID.exec(v) : null;
  if (!m) throw bad(call, `${where}.Id is not an image id`);
  return `sha256:${m[1]}`;
}

function optionalNumber(call: string, where: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(call, `${where} is not a number`);
  return v;
}

function image(
  call: string,
  where: string,
  raw: Record<string, unknown>,
  created: number | undefined,
): StoredImage {
  const names = stringList(call, `${where}.RepoTags`, raw.RepoTags).filter((n) => n !== '<none>:<none>');
  const digests = stringList(call, `${where}.RepoDigests`, raw.RepoDigests).filter(
    (d) => d !== '<none>@<none>',
  );
  const size = optionalNumber(call, `${where}.Size`, raw.Size);
  return {
    id: imageId(call, where, raw.Id),
    names,
    digests,
    ...(created !== undefined ? { created } : {}),
    ...(size !== undefined ? { size } : {}),
  };
}

export function parseInfo(json: unknown): StoreInfo {
  const call = 'GET /info';
  if (!isRecord(json)) throw bad(call, 'not a JSON object');
  const { DockerRootDir: rootDir, ServerVersion: version } = json;
  if (typeof rootDir !== 'string' || rootDir === '') throw bad(call, 'no DockerRootDir');
  if (typeof version !== 'string') throw bad(call, 'no ServerVersion');
  return { rootDir, version };
}

export function parseImageList(json: unknown): StoredImage[] {
  const call = 'GET /images/json';
  if (!Array.isArray(json)) throw bad(call, 'not a JSON array');
  return json.map((raw: unknown, i) => {
    if (!isRecord(raw)) throw bad(call, `image ${i} is not an object`);
    return image(call, `image ${i}`, raw, optionalNumber(call, `image ${i}.Created`, raw.Created));
  });
}

export function parseImageInspect(json: unknown, ref: string): StoredImage {
  const call = `GET /images/${ref}/json`;
  if (!isRecord(json)) throw bad(call, 'not a JSON object');
  // Inspect reports Created as an RFC 3339 string, the listing as seconds.
  let created: number | undefined;
  if (typeof json.Created === 'string') {
    const ms = Date.parse(json.Created);
    if (Number.isNaN(ms)) throw bad(call, 'Created is not a date');
    created = Math.floor(ms / 1000);
  } else {
    created = optionalNumber(call, 'Created', json.Created);
  }
  return image(call, 'image', json, created);
}

const OVERLAY_UPPER = /^(\/.*)\/overlay\/[0-9a-f]{64}\/diff$/;

/**
 * The store directory an inspected image lives in, from its GraphDriver: for the overlay driver the
 * top layer's UpperDir is `<store>/overlay/<layer id>/diff`. Null for any other driver or shape (the
 * caller then asks GET /info). A GraphDriver that is present but malformed is an error.
 */
export function parseOverlayRoot(json: unknown, ref: string): string | null {
  const call = `GET /images/${ref}/json`;
  if (!isRecord(json)) throw bad(call, 'not a JSON object');
  const driver = json.GraphDriver;
  if (driver === undefined || driver === null) return null;
  if (!isRecord(driver)) throw bad(call, 'GraphDriver is not an object');
  if (driver.Name !== 'overlay') return null;
  const data = driver.Data;
  if (data === undefined || data === null) return null;
  if (!isRecord(data)) throw bad(call, 'GraphDriver.Data is not an object');
  const upper = data.UpperDir;
  if (upper === undefined) return null;
  if (typeof upper !== 'string') throw bad(call, 'GraphDriver.Data.UpperDir is not a string');
  return OVERLAY_UPPER.exec(upper)?.[1] ?? null;
}

/**
 * Whether the libpod listing filtered by `id` shows that image as one of the service's own store, not
 * one read from an additional (read-only) image store: present, and `ReadOnly` absent or false.
 */
export function parseOwnImage(json: unknown, id: string): boolean {
  const call = 'GET /libpod/images/json';
  if (!Array.isArray(json)) throw bad(call, 'not a JSON array');
  const hex = IMAGE_ID.exec(id)?.[1];
  for (const [i, raw] of json.entries()) {
    if (!isRecord(raw)) throw bad(call, `image ${i} is not an object`);
    if (IMAGE_ID.exec(typeof raw.Id === 'string' ? raw.Id : '')?.[1] !== hex) continue;
    if (raw.ReadOnly === undefined || raw.ReadOnly === null) return true;
    if (typeof raw.ReadOnly !== 'boolean') throw bad(call, `image ${i}.ReadOnly is not a boolean`);
    return !raw.ReadOnly;
  }
  return false;
}

/** One progress line: the event, and the failure text when the line reports one. */
export interface ProgressLine {
  event: PullProgressEvent;
  error?: string;
}

export function parseProgressLine(line: string): ProgressLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw bad('POST /images/create', `progress line is not JSON: ${clip(line)}`);
  }
  if (!isRecord(json)) throw bad('POST /images/create', 'progress line is not a JSON object');
  const event: PullProgressEvent = {};
  if (typeof json.status === 'string') event.status = json.status;
  if (typeof json.id === 'string') event.id = json.id;
  const detail = json.progressDetail;
  if (isRecord(detail)) {
    if (typeof detail.current === 'number') event.current = detail.current;
    if (typeof detail.total === 'number') event.total = detail.total;
  }
  const errorDetail = isRecord(json.errorDetail) ? json.errorDetail : undefined;
  const error =
    typeof errorDetail?.message === 'string' && errorDetail.message !== ''
      ? errorDetail.message
      : typeof json.error === 'string' && json.error !== ''
        ? json.error
        : errorDetail || json.error !== undefined
          ? 'pull failed (Podman gave no message)'
          : undefined;
  return error === undefined ? { event } : { event, error };
}
