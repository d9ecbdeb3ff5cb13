// Builds small, real OCI images in memory (gzip layers, config, manifest, optional index) and pushes
// them straight to a registry over its HTTP API: tens of milliseconds per image, where
// `podman import` + `podman push` takes ~0.6 s. Every image has /bin/busybox (a usable root) and a
// /marker file naming its reference. The busybox part is compressed once per process and reused:
// a single-layer image's blob is that gzip member followed by a gzip member of its own files
// (a multi-member gzip stream, which gzip readers — Go's included — decode as one).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import { httpRequest } from './http.js';
import type { TarEntry } from './tar-writer.js';
import { TAR_END, TAR_MTIME, tarArchive, tarEntries } from './tar-writer.js';

export const MEDIA = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Blob {
  digest: string;
  data: Buffer;
}

export interface Layer extends Blob {
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
}

const BUSYBOX = '/bin/busybox';
const CREATED = new Date(TAR_MTIME * 1000).toISOString();

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hostPlatform(): ImagePlatform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    s390x: 's390x',
  };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

let busyboxCache: { entries: Buffer; gz: Buffer; layer: Layer } | undefined;

/** The busybox root: its tar records, their gzip member, and the standalone base layer. */
function busybox(): { entries: Buffer; gz: Buffer; layer: Layer } {
  if (!busyboxCache) {
    let binary: Buffer;
    try {
      binary = readFileSync(BUSYBOX);
    } catch (e) {
      throw new Error(`test images need ${BUSYBOX} (Debian package busybox-static): ${(e as Error).message}`);
    }
    const entries = tarEntries([
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'bin/busybox', data: binary, mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    ]);
    const gz = gzipSync(entries, { level: 1 });
    const tail = gzipSync(TAR_END, { level: 1 });
    const data = Buffer.concat([gz, tail]);
    busyboxCache = {
      entries,
      gz,
      layer: { digest: sha256(data), data, diffId: sha256(Buffer.concat([entries, TAR_END])) },
    };
  }
  return busyboxCache;
}

/** The shared base layer (busybox only): equal in every image, so stored once. */
export function baseLayer(): Layer {
  return busybox().layer;
}

/** One layer: busybox plus `files` (a single-layer image), without recompressing busybox. */
export function baseLayerWith(files: TarEntry[]): Layer {
  const base = busybox();
  const own = Buffer.concat([tarEntries(files), TAR_END]);
  const data = Buffer.concat([base.gz, gzipSync(own, { level: 1 })]);
  const diffId = `sha256:${createHash('sha256').update(base.entries).update(own).digest('hex')}`;
  return { digest: sha256(data), data, diffId };
}

/** A layer with only `files`. */
export function layerOf(files: TarEntry[]): Layer {
  const tar = tarArchive(files);
  const data = gzipSync(tar, { level: 1 });
  return { digest: sha256(data), data, diffId: sha256(tar) };
}

export function imageConfig(layers: Layer[], platform: ImagePlatform, labels: Record<string, string>): Blob {
  const config = {
    created: CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Cmd: ['/bin/busybox', 'sh'], Labels: labels },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: CREATED, created_by: 'bound-imaged test harness' })),
  };
  const data = Buffer.from(JSON.stringify(config));
  return { digest: sha256(data), data };
}

export function imageManifest(config: Blob, layers: Layer[]): Blob {
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: MEDIA.config, digest: config.digest, size: config.data.length },
    layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.data.length })),
  };
  const data = Buffer.from(JSON.stringify(manifest));
  return { digest: sha256(data), data };
}

export function imageIndex(entries: { manifest: Blob; platform: ImagePlatform }[]): Blob {
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: entries.map(({ manifest, platform }) => ({
      mediaType: MEDIA.manifest,
      digest: manifest.digest,
      size: manifest.data.length,
      platform,
    })),
  };
  const data = Buffer.from(JSON.stringify(index));
  return { digest: sha256(data), data };
}

/** Registry v2 API uploads, with basic auth when the registry demands it. */
export class RegistryPusher {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly headers: Record<string, string>;
  /** Blobs already in the registry, and one repository holding each (for cross-repo mounts). */
  private readonly known = new Map<string, string>();

  constructor(
    private readonly url: string,
    auth?: { user: string; password: string },
  ) {
    this.headers = auth
      ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` }
      : {};
  }

  private async call(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) {
    const url = path.startsWith('http') ? path : `${this.url}${path}`;
    return httpRequest({
      method,
      url,
      headers: { ...this.headers, ...headers },
      agent: this.agent,
      ...(body ? { body } : {}),
    });
  }

  async pushBlob(repo: string, blob: Blob): Promise<void> {
    const from = this.known.get(blob.digest);
    if (from === repo) return;
    if (from !== undefined) {
      const mount = await this.call('POST', `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`);
      if (mount.status === 201) return;
    } else {
      const head = await this.call('HEAD', `/v2/${repo}/blobs/${blob.digest}`);
      if (head.status === 200) {
        this.known.set(blob.digest, repo);
        return;
      }
    }
    const start = await this.call('POST', `/v2/${repo}/blobs/uploads/`);
    const location = start.headers.location;
    if (start.status !== 202 || !location) {
      throw new Error(
        `push ${repo} blob ${blob.digest}: upload start answered ${start.status} ${start.body.toString()}`,
      );
    }
    const sep = location.includes('?') ? '&' : '?';
    const put = await this.call(
      'PUT',
      `${location}${sep}digest=${encodeURIComponent(blob.digest)}`,
      { 'content-type': 'application/octet-stream' },
      blob.data,
    );
    if (put.status !== 201)
      throw new Error(`push ${repo} blob ${blob.digest}: ${put.status} ${put.body.toString()}`);
    this.known.set(blob.digest, repo);
  }

  /** PUTs a manifest or index under `ref` (a tag or its digest); returns the digest the registry reports. */
  async pushManifest(repo: string, ref: string, manifest: Blob, mediaType: string): Promise<string> {
    const res = await this.call(
      'PUT',
      `/v2/${repo}/manifests/${ref}`,
      { 'content-type': mediaType },
      manifest.data,
    );
    if (res.status !== 201)
      throw new Error(`push ${repo}:${ref} manifest: ${res.status} ${res.body.toString()}`);
    const digest = res.headers['docker-content-digest'];
    if (digest !== manifest.digest) {
      throw new Error(
        `push ${repo}:${ref}: registry reports digest ${String(digest)}, expected ${manifest.digest}`,
      );
    }
    return manifest.digest;
  }

  close(): void {
    this.agent.destroy();
  }
}
