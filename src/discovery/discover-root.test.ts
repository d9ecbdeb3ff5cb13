import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, symlink, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { BOUND_IMAGES_DIR, discoverRoot, discoverRoots, inspectRoot } from './discover-root.js';
import { makeTempRoot, removeTree, writeTree, type TreeNode } from '../../scripts/harness/tree-fixture.js';

// Unit files live in a directory the host does not have, so a host-side resolution could not find them.
const U = `/usr/share/bound-imaged-units-${process.pid}`;
const B = BOUND_IMAGES_DIR;

let root: string;

beforeEach(async () => {
  root = await makeTempRoot('discover');
  expect(existsSync(U)).toBe(false);
});
afterEach(async () => {
  await chmod(root, 0o755).catch(() => undefined);
  await removeTree(root);
});

/** Run `work` with the permissions of an unprivileged user (seteuid when we are root). */
async function asUnprivileged<T>(work: () => Promise<T>): Promise<T> {
  if (process.getuid?.() !== 0 || process.seteuid === undefined) return work();
  process.seteuid(65534);
  try {
    return await work();
  } finally {
    process.seteuid(0);
  }
}

function bind(name: string, target = `${U}/${name}`): Record<string, TreeNode> {
  return { [`${B}/${name}`]: { symlink: target } };
}

describe('discoverRoot: the root and its bound-images.d', () => {
  it('finds no images and no errors when bound-images.d is missing', async () => {
    expect(await discoverRoot(root)).toEqual({ root, readable: true, images: [], errors: [] });
  });

  it('finds no images in an empty bound-images.d', async () => {
    await writeTree(root, { [B]: { dir: true } });
    expect(await discoverRoot(root)).toEqual({ root, readable: true, images: [], errors: [] });
  });

  it('treats a bound-images.d link to nothing as unreadable, not as binding nothing', async () => {
    await writeTree(root, { [B]: { symlink: '/nowhere' } });
    const result = await discoverRoot(root);
    expect(result).toMatchObject({ root, readable: false, images: [] });
    expect(result.errors[0]?.message).toMatch(/dangling symbolic link/);
  });

  it('marks a missing root unreadable', async () => {
    const result = await discoverRoot(`${root}/gone`);
    expect(result).toMatchObject({ readable: false, images: [] });
    expect(result.errors).toEqual([{ root: `${root}/gone`, message: 'root does not exist' }]);
  });

  it('marks a root that is a file unreadable', async () => {
    await writeFile(`${root}/file`, '');
    expect(await discoverRoot(`${root}/file`)).toMatchObject({
      readable: false,
      errors: [{ message: 'root is a regular file, not a directory' }],
    });
  });

  it('marks a root whose bound-images.d is not a directory unreadable', async () => {
    await writeTree(root, { [B]: 'x' });
    const result = await discoverRoot(root);
    expect(result.readable).toBe(false);
    expect(result.errors).toEqual([{ root, file: B, message: 'is a regular file, not a directory' }]);
  });

  it('marks a root whose bound-images.d is a link loop unreadable', async () => {
    await writeTree(root, { [B]: { symlink: 'bound-images.d' } });
    expect(await discoverRoot(root)).toMatchObject({ readable: false, errors: [{ file: B }] });
  });

  it('marks a root unreadable when bound-images.d has more entries than the limit', async () => {
    await writeTree(root, { ...bind('a.image'), ...bind('b.image'), ...bind('c.image') });
    const result = await discoverRoot(root, { maxDirEntries: 2 });
    expect(result).toMatchObject({
      readable: false,
      errors: [{ file: B, message: 'has more than 2 entries' }],
    });
  });

  it('marks a root unreadable when it or its bound-images.d cannot be read (EACCES)', async () => {
    await writeTree(root, { ...bind('a.image'), [`${U}/a.image`]: '[Image]\nImage=quay.io/a\n' });
    // mkdtemp made the root 0700: an unprivileged user cannot enter it.
    const closed = await asUnprivileged(() => discoverRoot(root));
    expect(closed).toMatchObject({
      readable: false,
      errors: [{ root, message: 'root cannot be read: EACCES' }],
    });
    await chmod(root, 0o755);
    await chmod(`${root}${B}`, 0o000);
    const listing = await asUnprivileged(() => discoverRoot(root));
    expect(listing).toMatchObject({
      readable: false,
      errors: [{ root, file: B, message: 'cannot be listed: EACCES' }],
    });
  });

  it('follows a bound-images.d that is itself an in-root link', async () => {
    await writeTree(root, {
      '/usr/lib/bootc': { symlink: `${U}/bootc` },
      [`${U}/bootc/bound-images.d/a.image`]: { symlink: `${U}/a.image` },
      [`${U}/a.image`]: '[Image]\nImage=quay.io/a\n',
    });
    expect((await discoverRoot(root)).images.map((i) => i.reference)).toEqual(['quay.io/a:latest']);
  });
});

describe('discoverRoot: bound images', () => {
  it('binds .image and .container files, with drop-ins, .image references, auth files and platforms', async () => {
    await writeTree(root, {
      ...bind('app.container'),
      ...bind('base.image'),
      ...bind('web.container'),
      ...bind('pinned.image', `../../../../${U.slice(1)}/pinned.image`),
      [`${U}/app.container`]: '[Container]\nImage=nginx\n',
      [`${U}/base.image`]:
        '[Image]\nImage=quay.io/org/base:1\nAuthFile=auth/base.json\nArch=arm64\nOS=linux\n',
      [`${U}/auth/base.json`]: '{}',
      [`${U}/web.container`]: '[Container]\nImage=base.image\n',
      [`${U}/pinned.image`]: '[Image]\nImage=quay.io/org/pinned:old\n',
      [`${U}/pinned.image.d/50-new.conf`]: '[Image]\nImage=quay.io/org/pinned:new\n',
    });
    const result = await discoverRoot(root);
    expect(result.errors).toEqual([]);
    expect(result.readable).toBe(true);
    const base = {
      root,
      reference: 'quay.io/org/base:1',
      rawImage: 'quay.io/org/base:1',
      sourceFile: `${U}/base.image`,
      authFile: `${root}${U}/auth/base.json`,
      platform: { architecture: 'arm64', os: 'linux' },
    };
    expect(result.images).toEqual([
      {
        root,
        reference: 'docker.io/library/nginx:latest',
        rawImage: 'nginx',
        sourceFile: `${U}/app.container`,
        entry: 'app.container',
      },
      { ...base, entry: 'base.image' },
      {
        root,
        reference: 'quay.io/org/pinned:new',
        rawImage: 'quay.io/org/pinned:new',
        sourceFile: `${U}/pinned.image`,
        entry: 'pinned.image',
      },
      { ...base, entry: 'web.container' },
    ]);
  });

  it('resolves AuthFile= inside the root, through in-root links', async () => {
    await writeTree(root, {
      ...bind('a.image'),
      [`${U}/a.image`]: '[Image]\nImage=quay.io/a\nAuthFile=/etc/containers/auth.json\n',
      '/etc/containers/auth.json': { symlink: `${U}/real-auth.json` },
      [`${U}/real-auth.json`]: '{}',
    });
    expect((await discoverRoot(root)).images[0]?.authFile).toBe(`${root}${U}/real-auth.json`);
  });

  it('lists entries in name order', async () => {
    const tree: Record<string, TreeNode> = {};
    for (const name of ['c', 'a', 'b']) {
      Object.assign(tree, bind(`${name}.image`), {
        [`${U}/${name}.image`]: `[Image]\nImage=quay.io/${name}\n`,
      });
    }
    await writeTree(root, tree);
    expect((await discoverRoot(root)).images.map((i) => i.entry)).toEqual(['a.image', 'b.image', 'c.image']);
  });
});

describe('discoverRoot: per-entry errors never hide the other entries', () => {
  it('reports each bad entry with root, entry, file and line, and still binds the good ones', async () => {
    await writeTree(root, {
      ...bind('good.image'),
      [`${U}/good.image`]: '[Image]\nImage=quay.io/good\n',
      // not a symbolic link
      [`${B}/plain.image`]: '[Image]\nImage=quay.io/plain\n',
      // not a .image/.container name
      ...bind('other.volume'),
      ...bind('.image'),
      [`${U}/other.volume`]: '[Volume]\n',
      // named .image, points at a .container
      ...bind('mixed.image', `${U}/app.container`),
      [`${U}/app.container`]: '[Container]\nImage=quay.io/app\n',
      // dangling
      ...bind('dangling.image', '/nowhere/dangling.image'),
      // a directory
      [`${U}/dir.image`]: { dir: true },
      ...bind('dir.image'),
      // too big
      ...bind('big.image'),
      [`${U}/big.image`]: `[Image]\nImage=quay.io/big\n#${'x'.repeat(70000)}\n`,
      // bad reference, on line 3
      ...bind('upper.image'),
      [`${U}/upper.image`]: '[Image]\n# c\nImage=quay.io/UPPER\n',
      // syntax error on line 1
      ...bind('syntax.image'),
      [`${U}/syntax.image`]: 'Image=quay.io/x\n',
      // missing Image=
      ...bind('empty.container'),
      [`${U}/empty.container`]: '[Container]\nExec=true\n',
      // .container naming a .image that does not exist
      ...bind('orphan.container'),
      [`${U}/orphan.container`]: '[Container]\nImage=missing.image\n',
      // built image
      ...bind('built.container'),
      [`${U}/built.container`]: '[Container]\nImage=app.build\n',
      // specifier
      ...bind('spec.image'),
      [`${U}/spec.image`]: '[Image]\nImage=quay.io/%u\n',
      // AuthFile that does not exist in the root
      ...bind('auth.image'),
      [`${U}/auth.image`]: '[Image]\nImage=quay.io/auth\nAuthFile=/etc/hostname\n',
      // loop
      [`${B}/loop.image`]: { symlink: 'loop.image' },
    });
    const result = await discoverRoot(root);
    expect(result.readable).toBe(true);
    expect(result.images.map((i) => i.entry)).toEqual(['good.image']);
    const byEntry = Object.fromEntries(result.errors.map((e) => [e.entry, e]));
    expect(Object.keys(byEntry).sort()).toEqual(
      [
        'auth.image',
        'big.image',
        'built.container',
        'dangling.image',
        'dir.image',
        'empty.container',
        'loop.image',
        'mixed.image',
        'orphan.container',
        'other.volume',
        '.image',
        'plain.image',
        'spec.image',
        'syntax.image',
        'upper.image',
      ].sort(),
    );
    for (const error of result.errors) expect(error.root).toBe(root);
    expect(byEntry['plain.image']).toMatchObject({
      file: `${B}/plain.image`,
      message: 'is a regular file, not a symbolic link to a .image file',
    });
    expect(byEntry['other.volume']?.message).toMatch(/not named \*\.image or \*\.container/);
    expect(byEntry['.image']?.message).toMatch(/not named \*\.image or \*\.container/);
    expect(byEntry['mixed.image']?.message).toBe(
      `is named *.image but points at ${U}/app.container, which is not a .image file`,
    );
    expect(byEntry['dangling.image']).toMatchObject({
      file: `${B}/dangling.image`,
      message: `dangling symbolic link: ${B}/dangling.image -> /nowhere/dangling.image (/nowhere does not exist in the root)`,
    });
    expect(byEntry['dir.image']).toMatchObject({ file: `${U}/dir.image` });
    expect(byEntry['dir.image']?.message).toContain('is a directory, not a regular file');
    expect(byEntry['big.image']?.message).toContain('over the 65536-byte limit');
    expect(byEntry['upper.image']).toMatchObject({ file: `${U}/upper.image`, line: 3 });
    expect(byEntry['upper.image']?.message).toMatch(/^Image=quay.io\/UPPER is not a valid image reference: /);
    expect(byEntry['syntax.image']).toMatchObject({ file: `${U}/syntax.image`, line: 1 });
    expect(byEntry['empty.container']).toMatchObject({
      file: `${U}/empty.container`,
      message: 'no Image= in section [Container]',
    });
    expect(byEntry['orphan.container']).toMatchObject({ file: `${U}/orphan.container`, line: 2 });
    expect(byEntry['orphan.container']?.message).toContain(`${U}/missing.image`);
    expect(byEntry['built.container']?.message).toBe('Image=app.build: built images cannot be bound');
    expect(byEntry['spec.image']).toMatchObject({ line: 2 });
    expect(byEntry['auth.image']).toMatchObject({ file: `${U}/auth.image`, line: 3 });
    expect(byEntry['auth.image']?.message).toBe('AuthFile=/etc/hostname: /etc does not exist');
    expect(byEntry['loop.image']?.message).toMatch(/loop/);
  });

  it('refuses FIFO, socket and device targets without blocking', async () => {
    await writeTree(root, {
      ...bind('fifo.image'),
      ...bind('dev.image'),
      ...bind('ok.image'),
      [`${U}/ok.image`]: '[Image]\nImage=quay.io/ok\n',
    });
    execFileSync('mkfifo', [`${root}${U}/fifo.image`]);
    let device = true;
    try {
      execFileSync('mknod', [`${root}${U}/dev.image`, 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      device = false;
      await writeFile(`${root}${U}/dev.image`, '[Image]\nImage=quay.io/dev\n');
    }
    const result = await discoverRoot(root);
    expect(result.images.map((i) => i.entry)).toEqual(device ? ['ok.image'] : ['dev.image', 'ok.image']);
    const messages = Object.fromEntries(result.errors.map((e) => [e.entry, e.message]));
    expect(messages['fifo.image']).toContain('is a FIFO (named pipe), not a regular file');
    if (device) expect(messages['dev.image']).toContain('is a character device, not a regular file');
  });

  it('reports entry names that are not UTF-8', async () => {
    await writeTree(root, { [B]: { dir: true } });
    const name = Buffer.concat([Buffer.from(`${root}${B}/bad`), Buffer.from([0xfe]), Buffer.from('.image')]);
    await symlink('/x.image', name);
    const result = await discoverRoot(root);
    expect(result.errors).toEqual([
      {
        root,
        entry: 'bad\uFFFD.image',
        file: `${B}/bad\uFFFD.image`,
        message: 'entry name is not valid UTF-8',
      },
    ]);
  });
});

describe('discoverRoots', () => {
  it('discovers each root in the order given', async () => {
    const other = await makeTempRoot('discover-other');
    try {
      await writeTree(other, { ...bind('a.image'), [`${U}/a.image`]: '[Image]\nImage=quay.io/a\n' });
      const results = await discoverRoots([other, root, `${root}/gone`]);
      expect(results.map((r) => [r.root, r.readable, r.images.length])).toEqual([
        [other, true, 1],
        [root, true, 0],
        [`${root}/gone`, false, 0],
      ]);
    } finally {
      await removeTree(other);
    }
  });
});

describe('inspectRoot', () => {
  it('returns what discoverRoot does, plus each bound entry’s units and notes by entry name', async () => {
    await writeTree(root, {
      ...bind('a.image'),
      ...bind('w.container'),
      ...bind('bad.image'),
      [`${U}/a.image`]: '[Image]\nImage=quay.io/a:1\nVariant=arm/v7\n',
      [`${U}/a.image.d/10.conf`]: '[Image]\nArch=arm\n',
      [`${U}/w.container`]: '[Container]\nImage=a.image\n',
      [`${U}/bad.image`]: '[Image]\n',
    });
    const { discovery, specs } = await inspectRoot(root);
    expect(discovery).toEqual(await discoverRoot(root));
    expect([...specs.keys()].sort()).toEqual(['a.image', 'w.container']);
    expect(specs.get('a.image')?.units.map((u) => [u.path, u.kind, u.files.map((f) => f.file)])).toEqual([
      [`${U}/a.image`, 'image', [`${U}/a.image`, `${U}/a.image.d/10.conf`]],
    ]);
    expect(specs.get('a.image')?.notes).toEqual([expect.objectContaining({ file: `${U}/a.image`, line: 3 })]);
    expect(specs.get('w.container')?.units.map((u) => u.kind)).toEqual(['container', 'image']);
    expect(discovery.images.find((i) => i.entry === 'a.image')?.platform).toEqual({ architecture: 'arm' });
  });
});
