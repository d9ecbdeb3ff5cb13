import { describe, expect, it } from 'vitest';

import { resolveBoundImageFile, type BoundImageSpec, type QuadletLoader } from '../quadlet/index.js';
import { normalizeReference } from '../reference/reference.js';
import { bootcFindings } from './bootc-rules.js';
import type { Finding } from './findings.js';

const D = '/usr/share/containers/systemd';

/** A loader over an in-memory tree; `<unit>.d/*.conf` keys are its drop-ins. */
function loader(files: Record<string, string>): QuadletLoader {
  return {
    read(path) {
      const text = files[path];
      if (text === undefined) return Promise.reject(new Error('does not exist'));
      return Promise.resolve({ path, text });
    },
    listDropIns(unit) {
      const prefix = `${unit}.d/`;
      return Promise.resolve(
        Object.keys(files)
          .filter((p) => p.startsWith(prefix) && p.endsWith('.conf'))
          .sort(),
      );
    },
  };
}

async function check(unit: string, files: Record<string, string>): Promise<Finding[]> {
  const spec: BoundImageSpec = await resolveBoundImageFile(`${D}/${unit}`, loader(files));
  return bootcFindings(spec, normalizeReference(spec.image));
}

function rules(found: Finding[]): string[] {
  return found.map((f) => f.rule);
}

describe('bootcFindings: entries bootc reads the same way', () => {
  it('finds nothing for a fully qualified name in a plain .image or .container', async () => {
    expect(await check('a.image', { [`${D}/a.image`]: '[Image]\nImage=quay.io/org/a:1.2\n' })).toEqual([]);
    const c = '[Container]\nImage=docker.io/library/nginx:1.27\nExec=nginx\n';
    expect(await check('c.container', { [`${D}/c.container`]: c })).toEqual([]);
  });

  it('finds nothing for a digest-pinned name, the form Podman stores it under', async () => {
    const pinned = `quay.io/org/a@sha256:${'c'.repeat(64)}`;
    expect(await check('a.image', { [`${D}/a.image`]: `[Image]\nImage=${pinned}\n` })).toEqual([]);
  });

  it("finds nothing for a drop-in that repeats the unit's own Image=", async () => {
    const files = {
      [`${D}/a.image`]: '[Image]\nImage=quay.io/org/a:1\n',
      [`${D}/a.image.d/10.conf`]: '[Image]\nImage=quay.io/org/a:1\n',
    };
    expect(await check('a.image', files)).toEqual([]);
  });
});

describe('bootcFindings: what bootc refuses', () => {
  it('reports AuthFile= in the .image itself with its line: bootc fails the whole query', async () => {
    const found = await check('a.image', {
      [`${D}/a.image`]: '[Image]\nImage=quay.io/org/a:1\nAuthFile=/etc/a.json\n',
    });
    expect(found).toEqual([
      expect.objectContaining({ severity: 'bootc', rule: 'auth-file', file: `${D}/a.image`, line: 3 }),
    ]);
    expect(found[0]?.message).toContain('AuthFile is not supported by bound bootc images');
  });

  it('reports AuthFile= set by a drop-in: bootc pulls without those credentials', async () => {
    const found = await check('a.image', {
      [`${D}/a.image`]: '[Image]\nImage=quay.io/org/a:1\n',
      [`${D}/a.image.d/auth.conf`]: '[Image]\n\nAuthFile=/etc/a.json\n',
    });
    expect(found).toEqual([
      expect.objectContaining({ rule: 'auth-file', file: `${D}/a.image.d/auth.conf`, line: 3 }),
    ]);
    expect(found[0]?.message).toMatch(/global pull secret only/);
  });

  it('reports Image=NAME.image in a .container: bootc pulls the name itself', async () => {
    const found = await check('web.container', {
      [`${D}/web.container`]: '[Container]\nImage=base.image\n',
      [`${D}/base.image`]: '[Image]\nImage=quay.io/org/base:3\n',
    });
    expect(found).toEqual([
      expect.objectContaining({ rule: 'image-file', file: `${D}/web.container`, line: 2 }),
    ]);
    expect(found[0]?.message).toContain('"base.image" as an image name');
    expect(found[0]?.message).toContain('quay.io/org/base:3');
  });

  it('reports an Image= only a drop-in sets: bootc says "Missing Image field"', async () => {
    const found = await check('a.image', {
      [`${D}/a.image`]: '[Image]\nArch=amd64\n',
      [`${D}/a.image.d/pin.conf`]: '[Image]\nImage=quay.io/org/a:1\n',
    });
    expect(rules(found)).toEqual(['drop-in-image', 'platform']);
    expect(found[0]).toMatchObject({ file: `${D}/a.image.d/pin.conf`, line: 2 });
    expect(found[0]?.message).toContain('Missing Image field');
  });

  it('reports a specifier a drop-in hides from bound-imaged but not from bootc', async () => {
    const found = await check('a.image', {
      [`${D}/a.image`]: '[Image]\nImage=quay.io/%u/a:1\n',
      [`${D}/a.image.d/fix.conf`]: '[Image]\nImage=quay.io/org/a:1\n',
    });
    expect(found).toEqual([expect.objectContaining({ rule: 'specifier', file: `${D}/a.image`, line: 2 })]);
    expect(found[0]?.message).toContain('%u');
  });
});

describe('bootcFindings: what bootc resolves differently', () => {
  it('reports a drop-in that changes Image=, at the line bootc reads', async () => {
    const found = await check('a.container', {
      [`${D}/a.container`]: '[Container]\nImage=quay.io/org/a:1\n',
      [`${D}/a.container.d/pin.conf`]: `[Container]\nImage=quay.io/org/a@sha256:${'d'.repeat(64)}\n`,
    });
    expect(found).toEqual([
      expect.objectContaining({ rule: 'drop-in-image', file: `${D}/a.container`, line: 2 }),
    ]);
    expect(found[0]?.message).toContain(`${D}/a.container.d/pin.conf:2`);
  });

  it('reports a short name with the stored name to write instead', async () => {
    const found = await check('a.container', { [`${D}/a.container`]: '[Container]\nImage=nginx\n' });
    expect(found).toEqual([expect.objectContaining({ rule: 'short-name', line: 2 })]);
    expect(found[0]?.message).toMatch(/registries\.conf/);
    expect(found[0]?.message).toMatch(/Write Image=docker\.io\/library\/nginx:latest$/);
    const withTag = await check('b.image', { [`${D}/b.image`]: '[Image]\nImage=library/redis:7\n' });
    expect(withTag[0]?.message).toMatch(/Write Image=docker\.io\/library\/redis:7$/);
  });

  it('reports a qualified name Podman stores under another text (no tag, docker.io shorthand)', async () => {
    const noTag = await check('a.image', { [`${D}/a.image`]: '[Image]\nImage=quay.io/org/a\n' });
    expect(noTag).toEqual([expect.objectContaining({ rule: 'raw-name' })]);
    expect(noTag[0]?.message).toMatch(/Write Image=quay\.io\/org\/a:latest$/);
    const hub = await check('b.image', { [`${D}/b.image`]: '[Image]\nImage=docker.io/nginx:1\n' });
    expect(hub[0]?.message).toMatch(/Write Image=docker\.io\/library\/nginx:1$/);
  });

  it('reports a quoted Image= and checks the name inside the quotes', async () => {
    const found = await check('a.image', { [`${D}/a.image`]: '[Image]\nImage="quay.io/org/a:1"\n' });
    expect(rules(found)).toEqual(['quoted']);
    const both = await check('b.image', { [`${D}/b.image`]: '[Image]\nImage="nginx"\n' });
    expect(rules(both)).toEqual(['quoted', 'short-name']);
  });

  it('reports Arch=/OS=/Variant= together, at the first one set', async () => {
    const found = await check('a.image', {
      [`${D}/a.image`]: '[Image]\nImage=quay.io/org/a:1\nOS=linux\nArch=arm64\n',
    });
    expect(found).toEqual([expect.objectContaining({ rule: 'platform', line: 4 })]);
    expect(found[0]?.message).toMatch(/^Arch=arm64, OS=linux: bootc ignores/);
  });
});
