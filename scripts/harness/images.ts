// Test images on a loopback registry, made locally (no internet). Each image is a busybox root
// (/bin/busybox, /bin/sh) plus /marker naming its reference; `layers` > 1 adds layers of random
// payload on top of a shared busybox base layer; `size` is the random payload in bytes; `platforms`
// pushes one image per platform under an OCI index.
// Two ways, same result shape:
//  - 'direct' (default): built in memory and pushed over the registry API (oci-push.ts), ~20 ms/image;
//  - 'podman': a generated tarball → `podman import` → (`podman build` with COPY steps for more
//    layers) → `podman push`, in a private throwaway store, ~0.6 s/image: the way the issue names.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { makeTempDir, releaseDir } from './cleanup.js';
import type { ImagePlatform, Layer } from './oci-push.js';
import {
  baseLayer,
  baseLayerWith,
  hostPlatform,
  imageConfig,
  imageIndex,
  imageManifest,
  layerOf,
  MEDIA,
  RegistryPusher,
} from './oci-push.js';
import type { PodmanCli } from './podman-service.js';
import { startPodmanCli } from './podman-service.js';
import type { Registry } from './registry.js';
import { tarArchive } from './tar-writer.js';
import type { TarEntry } from './tar-writer.js';

export interface ImageSpec {
  /** Repository path in the registry, e.g. `app` or `team/app`. */
  name: string;
  /** Default `latest`. */
  tag?: string;
  /** Total layers, busybox base included (default 1). */
  layers?: number;
  /** Bytes of random payload, spread over the image's own layers (default 64). */
  size?: number;
  /** Push an index with one image per platform ('direct' only). */
  platforms?: ImagePlatform[];
}

export interface MadeImage {
  name: string;
  tag: string;
  /** `127.0.0.1:PORT/name:tag` */
  reference: string;
  /** Digest of what the tag points at (the manifest, or the index when platforms were given). */
  digest: string;
  /** `127.0.0.1:PORT/name@sha256:…` */
  digestReference: string;
  layers: number;
  /** Per platform manifest digests, when an index was pushed. */
  platformDigests?: { platform: ImagePlatform; digest: string }[];
}

export interface MakeImagesOptions {
  via?: 'direct' | 'podman';
  /** Parallel pushes (default 4 direct, 2 podman). */
  concurrency?: number;
}

function payloadFiles(reference: string, index: number, bytes: number, marker: boolean): TarEntry[] {
  const files: TarEntry[] = [
    { type: 'file', path: `payload-${index}`, data: randomBytes(Math.max(1, bytes)) },
  ];
  if (marker) files.push({ type: 'file', path: 'marker', data: `${reference}\n` });
  return files;
}

function splitPayload(size: number, parts: number): number[] {
  const each = Math.floor(size / parts);
  return Array.from({ length: parts }, (_, i) => (i === parts - 1 ? size - each * (parts - 1) : each));
}

function layersFor(reference: string, layers: number, size: number): Layer[] {
  if (layers <= 1) return [baseLayerWith(payloadFiles(reference, 1, size, true))];
  const sizes = splitPayload(size, layers - 1);
  return [
    baseLayer(),
    ...sizes.map((bytes, i) => layerOf(payloadFiles(reference, i + 2, bytes, i === sizes.length - 1))),
  ];
}

async function pushDirect(pusher: RegistryPusher, registry: Registry, spec: ImageSpec): Promise<MadeImage> {
  const tag = spec.tag ?? 'latest';
  const reference = `${registry.host}/${spec.name}:${tag}`;
  const layerCount = Math.max(1, spec.layers ?? 1);
  const size = spec.size ?? 64;
  const pushOne = async (platform: ImagePlatform) => {
    const layers = layersFor(reference, layerCount, size);
    for (const layer of layers) await pusher.pushBlob(spec.name, layer);
    const config = imageConfig(layers, platform, { 'org.bound-imaged.test.reference': reference });
    await pusher.pushBlob(spec.name, config);
    return imageManifest(config, layers);
  };
  let digest: string;
  let platformDigests: MadeImage['platformDigests'];
  if (spec.platforms && spec.platforms.length > 0) {
    const entries = [];
    for (const platform of spec.platforms) {
      const manifest = await pushOne(platform);
      await pusher.pushManifest(spec.name, manifest.digest, manifest, MEDIA.manifest);
      entries.push({ manifest, platform });
    }
    digest = await pusher.pushManifest(spec.name, tag, imageIndex(entries), MEDIA.index);
    platformDigests = entries.map((e) => ({ platform: e.platform, digest: e.manifest.digest }));
  } else {
    digest = await pusher.pushManifest(spec.name, tag, await pushOne(hostPlatform()), MEDIA.manifest);
  }
  return {
    name: spec.name,
    tag,
    reference,
    digest,
    digestReference: `${registry.host}/${spec.name}@${digest}`,
    layers: layerCount,
    ...(platformDigests ? { platformDigests } : {}),
  };
}

async function pushViaPodman(
  maker: PodmanCli,
  workDir: string,
  registry: Registry,
  spec: ImageSpec,
): Promise<MadeImage> {
  if (spec.platforms) throw new Error(`makeImages: platforms need via 'direct' (${spec.name})`);
  const tag = spec.tag ?? 'latest';
  const reference = `${registry.host}/${spec.name}:${tag}`;
  const layers = Math.max(1, spec.layers ?? 1);
  const size = spec.size ?? 64;
  const dir = join(workDir, `${spec.name.replace(/\//g, '_')}-${tag}`);
  await mkdir(dir, { recursive: true });
  const sizes = layers > 1 ? splitPayload(size, layers - 1) : [size];
  // The base: busybox + marker (+ the whole payload for a single-layer image).
  const baseFiles: TarEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', data: await readFile('/bin/busybox'), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'marker', data: `${reference}\n` },
    ...(layers === 1 ? payloadFiles(reference, 1, size, false) : []),
  ];
  await writeFile(join(dir, 'base.tar'), tarArchive(baseFiles));
  const baseName = layers === 1 ? reference : `localhost/harness-base-${spec.name}:${tag}`;
  await maker.podman([
    'import',
    '--quiet',
    '--change',
    `LABEL org.bound-imaged.test.reference=${reference}`,
    join(dir, 'base.tar'),
    baseName,
  ]);
  if (layers > 1) {
    const steps = [`FROM ${baseName}`];
    for (const [i, bytes] of sizes.entries()) {
      await writeFile(join(dir, `payload-${i + 2}`), randomBytes(Math.max(1, bytes)));
      steps.push(`COPY payload-${i + 2} /payload-${i + 2}`);
    }
    await writeFile(join(dir, 'Containerfile'), steps.join('\n') + '\n');
    await maker.podman(['build', '--quiet', '--network=none', '--pull=never', '-t', reference, dir]);
  }
  const digestFile = join(dir, 'digest');
  const creds = registry.auth ? ['--creds', `${registry.auth.user}:${registry.auth.password}`] : [];
  await maker.podman([
    'push',
    '--quiet',
    '--tls-verify=false',
    ...creds,
    '--digestfile',
    digestFile,
    reference,
  ]);
  const digest = (await readFile(digestFile, 'utf8')).trim();
  return {
    name: spec.name,
    tag,
    reference,
    digest,
    digestReference: `${registry.host}/${spec.name}@${digest}`,
    layers,
  };
}

/** Makes the images and pushes them to `registry`; results are in the order of `specs`. */
export async function makeImages(
  registry: Registry,
  specs: ImageSpec[],
  opts: MakeImagesOptions = {},
): Promise<MadeImage[]> {
  if (opts.via === 'podman') {
    // A throwaway store: the images must not land in a store under test.
    const workDir = makeTempDir('img');
    const maker = await startPodmanCli({ prefix: 'mk' });
    try {
      const limit = pLimit(opts.concurrency ?? 2);
      return await Promise.all(specs.map((s) => limit(() => pushViaPodman(maker, workDir, registry, s))));
    } finally {
      await maker.stop();
      releaseDir(workDir);
    }
  }
  const pusher = new RegistryPusher(registry.url, registry.auth);
  try {
    const limit = pLimit(opts.concurrency ?? 4);
    return await Promise.all(specs.map((s) => limit(() => pushDirect(pusher, registry, s))));
  } finally {
    pusher.close();
  }
}
