import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  hostImageName,
  MAX_ORIGIN_BYTES,
  originCandidates,
  parseOriginFile,
  readHostImage,
  readHostImages,
} from './host-image.js';

const dir = mkdtempSync(join(tmpdir(), 'host-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// An origin file as ostree-ext's deploy writes it (`origin.set_string("origin", ORIGIN_CONTAINER, …)`).
const OSTREE_ORIGIN = `[origin]
container-image-reference=ostree-unverified-registry:quay.io/example/os:42
`;
// As bootc's composefs backend writes it (write_composefs_state()).
const COMPOSEFS_ORIGIN = `[origin]
container-image-reference=ostree-unverified-image:docker://quay.io/example/os:43

[boot]
boot_type=bls
digest=abc

[image]
manifest_digest=sha256:${'c'.repeat(64)}
`;

describe('hostImageName: the image inside an ostree-ext image reference', () => {
  it.each([
    ['ostree-unverified-registry:quay.io/example/os:42', 'quay.io/example/os:42'],
    ['ostree-unverified-image:registry:quay.io/example/os', 'quay.io/example/os'],
    ['ostree-unverified-image:docker://quay.io/example/os:1', 'quay.io/example/os:1'],
    [
      'ostree-image-signed:docker://quay.io/example/os@sha256:' + 'a'.repeat(64),
      'quay.io/example/os@sha256:' + 'a'.repeat(64),
    ],
    ['ostree-remote-registry:fedora:quay.io/fedora/fedora-bootc:41', 'quay.io/fedora/fedora-bootc:41'],
    ['ostree-remote-image:fedora:docker://quay.io/fedora/fedora-bootc:41', 'quay.io/fedora/fedora-bootc:41'],
    ['ostree-unverified-image:containers-storage:localhost/os', 'localhost/os'],
  ])('%s → %s', (ref, image) => {
    expect(hostImageName(ref)).toBe(image);
  });

  it.each([
    'ostree-unverified-image:oci:/var/tmp/os',
    'ostree-unverified-image:oci-archive:/var/tmp/os.tar',
    'ostree-unverified-image:dir:/var/tmp/os',
  ])('%s names files, not a stored image → null', (ref) => {
    expect(hostImageName(ref)).toBeNull();
  });

  it.each([
    ['quay.io', /missing ":"/],
    ['docker://quay.io/os', /invalid ostree image reference scheme "docker"/],
    ['ostree-unverified-image:quay.io/os', /unknown transport "quay.io\/os"|missing the transport/],
    ['ostree-unverified-image:docker:quay.io/os', /must be followed by "\/\/"/],
    ['ostree-remote-registry:quay.io', /missing the remote name's ":"/],
    ['ostree-unverified-registry:', /empty image name/],
    ['ostree-unverified-image:ftp:x', /unknown transport "ftp"/],
  ])('%s is refused (%s)', (ref, why) => {
    expect(() => hostImageName(ref)).toThrow(why);
  });
});

describe('parseOriginFile (GKeyFile)', () => {
  it('reads groups and keys, comments, escapes; a later key wins; a repeated group adds up', () => {
    const keys = parseOriginFile(
      '# comment\n[origin]\nrefspec = x\\sy\n\n[image]\nmanifest_digest=a\n[origin]\nrefspec=z\r\n',
    );
    expect(keys.get('origin.refspec')).toEqual({ value: 'z', line: 8 });
    expect(keys.get('image.manifest_digest')?.value).toBe('a');
  });

  it.each([
    ['key=value\n', /key outside any \[group\]/, 1],
    ['[origin\n', /invalid group header/, 1],
    ['[origin]\njust words\n', /neither a group/, 2],
    ['[origin]\nk=bad\\q\n', /invalid escape/, 2],
  ])('%j is refused with its line', (text, why, line) => {
    let thrown: (Error & { line?: number }) | undefined;
    try {
      parseOriginFile(text);
    } catch (e) {
      thrown = e as Error & { line?: number };
    }
    expect(thrown?.message).toMatch(why);
    expect(thrown?.line).toBe(line);
  });
});

function layout(name: string) {
  const base = join(dir, name);
  const ostreeDeploy = join(base, 'ostree/deploy/default/deploy');
  const composefsDeploy = join(base, 'sysroot/state/deploy');
  mkdirSync(ostreeDeploy, { recursive: true });
  mkdirSync(composefsDeploy, { recursive: true });
  return { base, ostreeDeploy, composefsDeploy };
}

describe('readHostImage / readHostImages: where each backend keeps the origin', () => {
  it('ostree: <csum>.<serial>.origin beside the deployment directory', async () => {
    const { ostreeDeploy } = layout('ostree');
    const root = join(ostreeDeploy, 'abc123.0');
    mkdirSync(root);
    writeFileSync(`${root}.origin`, OSTREE_ORIGIN);
    expect(await readHostImage(root)).toEqual({
      root,
      origin: `${root}.origin`,
      originReference: 'ostree-unverified-registry:quay.io/example/os:42',
      image: 'quay.io/example/os:42',
    });
  });

  it('composefs: state/deploy/<id>/<id>.origin inside the state directory, with the manifest digest', async () => {
    const { composefsDeploy } = layout('composefs');
    const id = 'f'.repeat(128);
    const root = join(composefsDeploy, id);
    mkdirSync(join(root, 'etc'), { recursive: true });
    symlinkSync('../../os/default/var', join(root, 'var'));
    writeFileSync(join(root, `${id}.origin`), COMPOSEFS_ORIGIN);
    const host = await readHostImage(root);
    expect(host).toMatchObject({
      origin: join(root, `${id}.origin`),
      image: 'quay.io/example/os:43',
      manifestDigest: `sha256:${'c'.repeat(64)}`,
    });
  });

  it('no origin (not a deployment, or `/`), or an origin without a container image: no host image', async () => {
    const { ostreeDeploy } = layout('none');
    const plain = join(ostreeDeploy, 'plain.0');
    mkdirSync(plain);
    expect(await readHostImage(plain)).toBeUndefined();
    expect(originCandidates('/')).toEqual([]);
    const commit = join(ostreeDeploy, 'commit.0');
    mkdirSync(commit);
    writeFileSync(`${commit}.origin`, '[origin]\nrefspec=debian:os/x86_64/main\n');
    expect(await readHostImage(commit)).toBeUndefined();
    const oci = join(ostreeDeploy, 'oci.0');
    mkdirSync(oci);
    writeFileSync(
      `${oci}.origin`,
      '[origin]\ncontainer-image-reference=ostree-unverified-image:oci:/var/os\n',
    );
    expect(await readHostImage(oci)).toBeUndefined();
  });

  it('a bad origin is one error with file and line; the other roots still count', async () => {
    const { ostreeDeploy } = layout('bad');
    const good = join(ostreeDeploy, 'good.0');
    const bad = join(ostreeDeploy, 'bad.0');
    const huge = join(ostreeDeploy, 'huge.0');
    const notFile = join(ostreeDeploy, 'dirorigin.0');
    for (const r of [good, bad, huge, notFile]) mkdirSync(r);
    writeFileSync(`${good}.origin`, OSTREE_ORIGIN);
    writeFileSync(`${bad}.origin`, '[origin]\n\ncontainer-image-reference=docker://quay.io/os\n');
    writeFileSync(`${huge}.origin`, '#'.repeat(MAX_ORIGIN_BYTES + 1));
    mkdirSync(`${notFile}.origin`);
    const scan = await readHostImages([good, bad, huge, notFile, join(ostreeDeploy, 'gone.0')]);
    expect(scan.images.map((h) => h.root)).toEqual([good]);
    expect(scan.errors).toEqual([
      {
        root: bad,
        origin: `${bad}.origin`,
        line: 3,
        message: 'container-image-reference: invalid ostree image reference scheme "docker"',
      },
      { root: huge, origin: `${huge}.origin`, message: `larger than ${MAX_ORIGIN_BYTES} bytes` },
      { root: notFile, origin: `${notFile}.origin`, message: 'not a regular file' },
    ]);
  });
});
