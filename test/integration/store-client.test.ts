// StoreClient against a real Podman service and a real registry: list, pull by tag and by digest,
// platform selection, remove, untag, info; and the consumers' view of the store.
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MadeImage, Sandbox } from '../../scripts/harness/index.js';
import { startPodmanService, startSandbox } from '../../scripts/harness/index.js';
import { StoreError } from '../../src/store/errors.js';
import type { PullProgressEvent, StoredImage } from '../../src/store/podman-client.js';
import { StoreClient } from '../../src/store/podman-client.js';

let sb: Sandbox;
let client: StoreClient;
let plain: MadeImage;
let multi: MadeImage;
let pinned: MadeImage;
let multiArch: MadeImage;

beforeAll(async () => {
  sb = await startSandbox();
  client = new StoreClient({ socketPath: sb.podman.socketPath });
  [plain, multi, pinned, multiArch] = (await sb.makeImages([
    { name: 'plain' },
    { name: 'team/multi', tag: 'v2', layers: 3, size: 50_000 },
    { name: 'pinned', layers: 2 },
    {
      name: 'multiarch',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    },
  ])) as [MadeImage, MadeImage, MadeImage, MadeImage];
});

afterAll(async () => {
  await sb?.stop();
});

function byName(images: StoredImage[], name: string): StoredImage | undefined {
  return images.find((i) => i.names.includes(name));
}

describe('StoreClient on a real Podman', () => {
  it('info() reports the store the service serves, resolved', async () => {
    const info = await client.info();
    expect(info.rootDir).toBe(realpathSync(sb.podman.storePath));
    expect(info.version).toMatch(/^\d+\.\d+/);
  });

  it('a second Podman service on another store reports its own directory', async () => {
    const other = await startPodmanService();
    try {
      const info = await new StoreClient({ socketPath: other.socketPath }).info();
      expect(info.rootDir).toBe(realpathSync(other.storePath));
      expect(info.rootDir).not.toBe((await client.info()).rootDir);
    } finally {
      await other.stop();
    }
  });

  it('an empty store lists nothing', async () => {
    expect(await client.listImages()).toEqual([]);
  });

  it('pulls by tag, reading progress to the end, and lists name, id and repo digest', async () => {
    const events: PullProgressEvent[] = [];
    await client.pull(multi.reference, { onProgress: (e) => events.push(e) });
    expect(events.some((e) => e.status === 'Download complete')).toBe(true);
    const image = byName(await client.listImages(), multi.reference);
    expect(image).toBeDefined();
    expect(image?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image?.digests).toContain(multi.digestReference);
    // The registry served one manifest GET for it: the pull went to the registry.
    const gets = (await sb.registry.requests()).filter(
      (r) => r.method === 'GET' && r.path === `/v2/${multi.name}/manifests/${multi.tag}`,
    );
    expect(gets).toHaveLength(1);
  });

  it('pulls by digest: the digest name is listed among names and digests', async () => {
    await client.pull(pinned.digestReference);
    const image = byName(await client.listImages(), pinned.digestReference);
    expect(image?.digests).toContain(pinned.digestReference);
    expect(image?.names).toEqual([pinned.digestReference]);
  });

  it('pulls the requested platform from an index', async () => {
    const arm = multiArch.platformDigests?.find((p) => p.platform.architecture === 'arm64');
    await client.pull(multiArch.reference, {
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const { stdout } = await sb.podman.podman([
      'image',
      'inspect',
      '--format',
      '{{.Architecture}}',
      multiArch.reference,
    ]);
    expect(stdout.trim()).toBe('arm64');
    // Both the index digest and the chosen platform's manifest digest are repo digests of the image.
    const image = byName(await client.listImages(), multiArch.reference);
    expect(image?.digests.sort()).toEqual(
      [multiArch.digestReference, `${sb.registry.host}/multiarch@${arm?.digest}`].sort(),
    );
  });

  it('a reference without tag pulls :latest', async () => {
    await client.pull(`${sb.registry.host}/${plain.name}`);
    expect(byName(await client.listImages(), plain.reference)).toBeDefined();
  });

  it('inspect() finds an image by name, digest reference and id, and returns null for none', async () => {
    const listed = byName(await client.listImages(), pinned.digestReference);
    expect(await client.inspect(pinned.digestReference)).toEqual(listed);
    expect(await client.inspect(listed?.id ?? '')).toEqual(listed);
    expect(await client.inspect(`${sb.registry.host}/nothing:here`)).toBeNull();
  });

  it('the consumers see the pulled images through additionalimagestore', async () => {
    const consumer = await sb.consumer();
    const { stdout } = await consumer.podman([
      'images',
      '--format',
      '{{.Repository}}:{{.Tag}} {{.ReadOnly}}',
    ]);
    expect(stdout).toContain(`${sb.registry.host}/${multi.name}:${multi.tag} true`);
    await consumer.podman(['create', '--name', 'c1', multi.reference, '/bin/busybox', 'true']);
    const mount = (await consumer.podman(['mount', 'c1'])).stdout.trim();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(`${mount}/marker`, 'utf8')).toBe(`${multi.reference}\n`);
    await consumer.podman(['unmount', 'c1']);
    await consumer.stop();
  });

  it('untag() removes one name and keeps the image; the last name is refused', async () => {
    const extra = `${sb.registry.host}/extra:one`;
    await sb.podman.podman(['tag', multi.reference, extra]);
    const before = byName(await client.listImages(), extra);
    expect(before?.names.sort()).toEqual([multi.reference, extra].sort());

    await client.untag(extra);
    const after = byName(await client.listImages(), multi.reference);
    expect(after?.id).toBe(before?.id);
    expect(after?.names).toEqual([multi.reference]);

    await expect(client.untag(multi.reference)).rejects.toThrow(/only name of image sha256:/);
    expect(byName(await client.listImages(), multi.reference)?.names).toEqual([multi.reference]);
    await expect(client.untag(extra)).rejects.toThrow(/no image in the store has this name/);
  });

  it('untag() removes a digest name when the image keeps a tag', async () => {
    await client.pull(pinned.reference);
    const both = byName(await client.listImages(), pinned.reference);
    expect(both?.names.sort()).toEqual([pinned.digestReference, pinned.reference].sort());
    await client.untag(pinned.digestReference);
    const after = byName(await client.listImages(), pinned.reference);
    expect(after?.id).toBe(both?.id);
    expect(after?.names).toEqual([pinned.reference]);
    // The repo digest stays: it belongs to the tag's manifest too.
    expect(after?.digests).toContain(pinned.digestReference);
  });

  it('removeImage() removes an image with several names, and fails for one that is gone', async () => {
    const extra = `${sb.registry.host}/extra:two`;
    await sb.podman.podman(['tag', plain.reference, extra]);
    const image = byName(await client.listImages(), plain.reference);
    await client.removeImage(image?.id ?? '');
    const left = await client.listImages();
    expect(left.find((i) => i.id === image?.id)).toBeUndefined();
    await expect(client.removeImage(image?.id ?? '')).rejects.toBeInstanceOf(StoreError);
    await expect(client.removeImage('not-an-id')).rejects.toThrow(/not an image id/);
  });
});
