import { describe, expect, it } from 'vitest';

import { resolveBoundImageFile, type QuadletLoader } from './bound-image-file.js';
import { QuadletError } from './quadlet-error.js';

const D = '/usr/share/containers/systemd';

/** Files of a root held in memory; `links` map a path to the path it resolves to. */
function memoryLoader(files: Record<string, string>, links: Record<string, string> = {}): QuadletLoader {
  return {
    read(path) {
      const resolved = links[path] ?? path;
      const text = files[resolved];
      if (text === undefined) return Promise.reject(new Error(`${resolved} does not exist`));
      return Promise.resolve({ path: resolved, text });
    },
    listDropIns(unit) {
      const prefix = `${unit}.d/`;
      const names = Object.keys(files).filter(
        (p) => p.startsWith(prefix) && p.endsWith('.conf') && !p.slice(prefix.length).includes('/'),
      );
      return Promise.resolve(names.sort());
    },
  };
}

async function failure(path: string, loader: QuadletLoader): Promise<QuadletError> {
  try {
    await resolveBoundImageFile(path, loader);
  } catch (error) {
    if (error instanceof QuadletError) return error;
    throw error;
  }
  throw new Error('expected a QuadletError');
}

describe('.image files', () => {
  it('bind [Image] Image=', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a/b:1\n' });
    expect(await resolveBoundImageFile(`${D}/a.image`, loader)).toEqual({
      image: 'quay.io/a/b:1',
      rawImage: 'quay.io/a/b:1',
      sourceFile: `${D}/a.image`,
      imageFile: `${D}/a.image`,
      imageLine: 2,
      units: [
        { path: `${D}/a.image`, kind: 'image', files: [expect.objectContaining({ file: `${D}/a.image` })] },
      ],
    });
  });

  it('ignore Image= outside [Image]', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Container]\nImage=quay.io/a\n' });
    const error = await failure(`${D}/a.image`, loader);
    expect(error).toMatchObject({ file: `${D}/a.image`, line: undefined });
    expect(error.message).toContain('no Image= in section [Image]');
  });

  it('use the last Image=', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/one\nImage=quay.io/two\n' });
    expect(await resolveBoundImageFile(`${D}/a.image`, loader)).toMatchObject({
      image: 'quay.io/two',
      imageLine: 3,
    });
  });

  it('refuse an empty Image=, naming file, section and line', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nImage=\n' });
    const error = await failure(`${D}/a.image`, loader);
    expect(error).toMatchObject({ file: `${D}/a.image`, line: 3 });
    expect(error.message).toContain('empty Image= in section [Image]');
  });

  it('expand %% and remove double quotes, keeping the raw value', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage="quay.io/a%%b"\n' });
    expect(await resolveBoundImageFile(`${D}/a.image`, loader)).toMatchObject({
      image: 'quay.io/a%b',
      rawImage: '"quay.io/a%%b"',
    });
  });

  it('refuse specifiers', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/%u/b\n' });
    expect(await failure(`${D}/a.image`, loader)).toMatchObject({ line: 2 });
  });

  it('honour AuthFile= as a root-absolute path', async () => {
    const loader = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nAuthFile=/etc/containers/auth.json\n',
    });
    expect(await resolveBoundImageFile(`${D}/a.image`, loader)).toMatchObject({
      authFile: '/etc/containers/auth.json',
      authFileAt: { file: `${D}/a.image`, line: 3 },
    });
  });

  it('resolve a relative AuthFile= against the unit file directory, never above the root', async () => {
    const rel = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nAuthFile=auth/a.json\n' });
    expect((await resolveBoundImageFile(`${D}/a.image`, rel)).authFile).toBe(`${D}/auth/a.json`);
    const up = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nAuthFile=../../../../../../x.json\n',
    });
    expect((await resolveBoundImageFile(`${D}/a.image`, up)).authFile).toBe('/x.json');
    const abs = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nAuthFile=/../etc/./a.json\n' });
    expect((await resolveBoundImageFile(`${D}/a.image`, abs)).authFile).toBe('/etc/a.json');
  });

  it('treat an empty AuthFile= as unset', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nAuthFile=/x\nAuthFile=\n' });
    expect(await resolveBoundImageFile(`${D}/a.image`, loader)).not.toHaveProperty('authFile');
  });

  it('turn Arch=, OS=, Variant= into a platform', async () => {
    const loader = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nArch=arm64\nOS=linux\nVariant=v8\n',
    });
    expect((await resolveBoundImageFile(`${D}/a.image`, loader)).platform).toEqual({
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
    });
    const archOnly = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nArch=amd64\n' });
    expect((await resolveBoundImageFile(`${D}/a.image`, archOnly)).platform).toEqual({
      architecture: 'amd64',
    });
    const none = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\n' });
    expect(await resolveBoundImageFile(`${D}/a.image`, none)).not.toHaveProperty('platform');
  });

  it('refuse a malformed Arch= or OS= with its line', async () => {
    const loader = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nArch=arm 64\n' });
    expect(await failure(`${D}/a.image`, loader)).toMatchObject({ line: 3 });
    const os = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nOS=linux/arm\n' });
    expect(await failure(`${D}/a.image`, os)).toMatchObject({ line: 3 });
  });

  it('bind the image when Variant= is no platform variant, leaving the variant out with a note', async () => {
    const loader = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nArch=arm\nVariant=arm/v7\n',
    });
    const spec = await resolveBoundImageFile(`${D}/a.image`, loader);
    expect(spec.image).toBe('quay.io/a');
    expect(spec.platform).toEqual({ architecture: 'arm' });
    expect(spec.notes).toEqual([
      {
        file: `${D}/a.image`,
        line: 4,
        message: expect.stringMatching(/^Variant=arm\/v7 is not a platform variant .*ignored/),
      },
    ]);
    const alone = memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\nVariant=v6 x\n' });
    expect(await resolveBoundImageFile(`${D}/a.image`, alone)).not.toHaveProperty('platform');
  });

  it('report a file that cannot be read', async () => {
    const error = await failure(`${D}/a.image`, memoryLoader({}));
    expect(error.file).toBe(`${D}/a.image`);
    expect(error.message).toContain('does not exist');
  });
});

describe('.container files', () => {
  it('bind [Container] Image=', async () => {
    const loader = memoryLoader({ [`${D}/c.container`]: '[Container]\nExec=sleep 1\nImage=quay.io/c\n' });
    expect(await resolveBoundImageFile(`${D}/c.container`, loader)).toEqual({
      image: 'quay.io/c',
      rawImage: 'quay.io/c',
      sourceFile: `${D}/c.container`,
      imageFile: `${D}/c.container`,
      imageLine: 3,
      units: [
        {
          path: `${D}/c.container`,
          kind: 'container',
          files: [expect.objectContaining({ file: `${D}/c.container` })],
        },
      ],
    });
  });

  it('refuse a missing Image=, naming file and section', async () => {
    const loader = memoryLoader({ [`${D}/c.container`]: '[Container]\nExec=sleep 1\n' });
    const error = await failure(`${D}/c.container`, loader);
    expect(error.message).toBe(`${D}/c.container: no Image= in section [Container]`);
  });

  it('bind the image of a .image file named by Image=, with its AuthFile and platform', async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nImage=base.image\n',
      [`${D}/base.image`]: '[Image]\nImage=quay.io/base\nAuthFile=auth.json\nArch=arm64\n',
    });
    expect(await resolveBoundImageFile(`${D}/c.container`, loader)).toEqual({
      image: 'quay.io/base',
      rawImage: 'quay.io/base',
      sourceFile: `${D}/base.image`,
      imageFile: `${D}/base.image`,
      imageLine: 2,
      authFile: `${D}/auth.json`,
      authFileAt: { file: `${D}/base.image`, line: 3 },
      platform: { architecture: 'arm64' },
      via: [`${D}/c.container`],
      units: [
        expect.objectContaining({ path: `${D}/c.container`, kind: 'container' }),
        expect.objectContaining({ path: `${D}/base.image`, kind: 'image' }),
      ],
    });
  });

  it('look the .image file up beside the resolved .container file', async () => {
    const loader = memoryLoader(
      {
        '/opt/units/c.container': '[Container]\nImage=base.image\n',
        '/opt/units/base.image': '[Image]\nImage=quay.io/opt\n',
        [`${D}/base.image`]: '[Image]\nImage=quay.io/wrong\n',
      },
      { [`${D}/c.container`]: '/opt/units/c.container' },
    );
    expect(await resolveBoundImageFile(`${D}/c.container`, loader)).toMatchObject({
      image: 'quay.io/opt',
      via: ['/opt/units/c.container'],
    });
  });

  it("apply the .image file's own drop-ins", async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nImage=base.image\n',
      [`${D}/base.image`]: '[Image]\nImage=quay.io/base\n',
      [`${D}/base.image.d/10-pin.conf`]: '[Image]\nImage=quay.io/base:pinned\n',
    });
    expect(await resolveBoundImageFile(`${D}/c.container`, loader)).toMatchObject({
      image: 'quay.io/base:pinned',
      sourceFile: `${D}/base.image`,
      imageFile: `${D}/base.image.d/10-pin.conf`,
    });
  });

  it('name both files when the .image file is missing', async () => {
    const loader = memoryLoader({ [`${D}/c.container`]: '[Container]\nImage=gone.image\n' });
    const error = await failure(`${D}/c.container`, loader);
    expect(error).toMatchObject({ file: `${D}/c.container`, line: 2 });
    expect(error.message).toContain(`${D}/gone.image`);
    expect(error.message).toContain(`${D}/c.container`);
  });

  it('name both files when the .image file has no Image=', async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nImage=base.image\n',
      [`${D}/base.image`]: '[Image]\nPull=always\n',
    });
    const error = await failure(`${D}/c.container`, loader);
    expect(error.file).toBe(`${D}/base.image`);
    expect(error.message).toContain(`${D}/c.container`);
    expect(error.message).toContain('no Image= in section [Image]');
  });

  it('keep the line of a fault inside the .image file', async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nImage=base.image\n',
      [`${D}/base.image`]: '[Image]\n\nImage=quay.io/%H\n',
    });
    expect(await failure(`${D}/c.container`, loader)).toMatchObject({ file: `${D}/base.image`, line: 3 });
  });

  it('refuse a .image name with a directory in it', async () => {
    const loader = memoryLoader({ [`${D}/c.container`]: '[Container]\nImage=sub/base.image\n' });
    expect(await failure(`${D}/c.container`, loader)).toMatchObject({ line: 2 });
  });

  it('refuse built images', async () => {
    const loader = memoryLoader({ [`${D}/c.container`]: '[Container]\nImage=app.build\n' });
    const error = await failure(`${D}/c.container`, loader);
    expect(error).toMatchObject({ file: `${D}/c.container`, line: 2 });
    expect(error.message).toContain('built images cannot be bound');
  });

  it('ignore AuthFile= and platform keys of a .container', async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nImage=quay.io/c\n[Image]\nAuthFile=/x\n',
    });
    expect(await resolveBoundImageFile(`${D}/c.container`, loader)).not.toHaveProperty('authFile');
  });
});

describe('drop-ins', () => {
  it('apply <file>.d/*.conf in lexical order, the last Image= winning', async () => {
    const loader = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/main\n',
      [`${D}/a.image.d/20-b.conf`]: '[Image]\nImage=quay.io/twenty\n',
      [`${D}/a.image.d/10-a.conf`]: '[Image]\nImage=quay.io/ten\nArch=arm64\n',
      [`${D}/a.image.d/30-c.conf`]: '[Image]\nOS=linux\n',
      [`${D}/a.image.d/99-z.txt`]: '[Image]\nImage=quay.io/ignored\n',
    });
    expect(await resolveBoundImageFile(`${D}/a.image`, loader)).toMatchObject({
      image: 'quay.io/twenty',
      sourceFile: `${D}/a.image`,
      imageFile: `${D}/a.image.d/20-b.conf`,
      imageLine: 2,
      platform: { architecture: 'arm64', os: 'linux' },
    });
  });

  it('can supply the Image= the main file lacks', async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nExec=true\n',
      [`${D}/c.container.d/image.conf`]: '[Container]\nImage=quay.io/from-drop-in\n',
    });
    expect((await resolveBoundImageFile(`${D}/c.container`, loader)).image).toBe('quay.io/from-drop-in');
  });

  it('can empty the Image= (an error naming the drop-in)', async () => {
    const loader = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/a\n',
      [`${D}/a.image.d/x.conf`]: '[Image]\nImage=\n',
    });
    expect(await failure(`${D}/a.image`, loader)).toMatchObject({ file: `${D}/a.image.d/x.conf`, line: 2 });
  });

  it('can turn a .container Image= into a .image reference', async () => {
    const loader = memoryLoader({
      [`${D}/c.container`]: '[Container]\nImage=quay.io/c\n',
      [`${D}/c.container.d/x.conf`]: '[Container]\nImage=base.image\n',
      [`${D}/base.image`]: '[Image]\nImage=quay.io/base\n',
    });
    expect((await resolveBoundImageFile(`${D}/c.container`, loader)).image).toBe('quay.io/base');
  });

  it('report syntax errors in a drop-in with its own file and line', async () => {
    const loader = memoryLoader({
      [`${D}/a.image`]: '[Image]\nImage=quay.io/a\n',
      [`${D}/a.image.d/x.conf`]: 'Image=quay.io/b\n',
    });
    expect(await failure(`${D}/a.image`, loader)).toMatchObject({ file: `${D}/a.image.d/x.conf`, line: 1 });
  });

  it('report a drop-in directory that cannot be listed', async () => {
    const loader: QuadletLoader = {
      ...memoryLoader({ [`${D}/a.image`]: '[Image]\nImage=quay.io/a\n' }),
      listDropIns: () => Promise.reject(new Error('too many entries')),
    };
    const error = await failure(`${D}/a.image`, loader);
    expect(error.file).toBe(`${D}/a.image.d`);
    expect(error.message).toContain('too many entries');
  });
});

describe('file kinds', () => {
  it('refuse files that are neither .image nor .container', async () => {
    const error = await failure(`${D}/a.volume`, memoryLoader({ [`${D}/a.volume`]: '[Volume]\n' }));
    expect(error.message).toContain('not a Quadlet .image or .container file');
  });
});
