// What a Podman store holds, read with `podman images --format json` (the bound store through the
// service's own CLI, or a consumer's view through additionalimagestore): names, digests and whether
// an image comes from a read-only (additional) store. Used by the demo to check its own claims.
import type { PodmanCli } from '../harness/podman-service.js';

export interface StoreImage {
  id: string;
  /** `registry/repo:tag` names. */
  tags: string[];
  /** `registry/repo@sha256:…` names. */
  digests: string[];
  /** True when the image lives in an additional (read-only) image store. */
  readOnly: boolean;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Parses `podman images --format json` output; throws on anything that is not that. */
export function parseImages(json: string): StoreImage[] {
  const data: unknown = JSON.parse(json === '' ? '[]' : json);
  if (!Array.isArray(data)) throw new Error('podman images --format json: expected an array');
  return data.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null)
      throw new Error(`podman images: entry ${i} is not an object`);
    const o = item as Record<string, unknown>;
    if (typeof o.Id !== 'string') throw new Error(`podman images: entry ${i} has no Id`);
    return {
      id: o.Id,
      tags: strings(o.RepoTags ?? o.Names),
      digests: strings(o.RepoDigests),
      readOnly: o.ReadOnly === true,
    };
  });
}

export async function listImages(cli: PodmanCli): Promise<StoreImage[]> {
  return parseImages((await cli.podman(['images', '--format', 'json'])).stdout);
}

/** Whether one of the images carries `reference` as a tag or as a digest name. */
export function holds(images: StoreImage[], reference: string): boolean {
  return images.some((i) => i.tags.includes(reference) || i.digests.includes(reference));
}

/** Every name (tags and digest names) in the store, sorted. */
export function allNames(images: StoreImage[]): string[] {
  return images.flatMap((i) => [...i.tags, ...i.digests]).sort();
}
