import { describe, expect, it } from 'vitest';
import type { BoundImage, RootDiscovery } from '../types.js';
import { gcBlocker, hostImageKeys, planGc, type GcInputs } from './gc-plan.js';
import { collectWanted, planPulls, type StoreEntry } from './plan.js';

function bound(root: string, reference: string, extra: Partial<BoundImage> = {}): BoundImage {
  return { root, reference, rawImage: reference, sourceFile: `/x/${reference}.image`, entry: 'e', ...extra };
}

function discovery(root: string, refs: string[]): RootDiscovery {
  return { root, readable: true, images: refs.map((r) => bound(root, r)), errors: [] };
}

const APP = '127.0.0.1:5000/app:latest';
const DIGEST = 'sha256:' + 'a'.repeat(64);
const OTHER_DIGEST = 'sha256:' + 'b'.repeat(64);

describe('collectWanted', () => {
  it('deduplicates references across roots and keeps every source', () => {
    const w = collectWanted([
      discovery('/a', [APP, 'docker.io/library/nginx:latest']),
      discovery('/b', [APP]),
    ]);
    expect(w.map((x) => x.reference)).toEqual([
      '127.0.0.1:5000/app:latest',
      'docker.io/library/nginx:latest',
    ]);
    expect(w[0]?.sources.map((s) => s.root)).toEqual(['/a', '/b']);
  });

  it('keeps the auth file and platform of the first source that has one', () => {
    const d: RootDiscovery = {
      root: '/a',
      readable: true,
      errors: [],
      images: [
        bound('/a', APP),
        bound('/a', APP, { authFile: '/a/auth.json', platform: { architecture: 'arm64' } }),
      ],
    };
    const [w] = collectWanted([d]);
    expect(w?.authFile).toBe('/a/auth.json');
    expect(w?.platform).toEqual({ architecture: 'arm64' });
  });
});

describe('planPulls', () => {
  const stored: StoreEntry[] = [
    { id: 'i1', names: ['127.0.0.1:5000/app:latest'], digests: [`127.0.0.1:5000/app@${DIGEST}`] },
    { id: 'i2', names: ['docker.io/library/nginx:1.25'], digests: [] },
  ];

  it('a normalized reference matches the stored name (Image=127.0.0.1:5000/app → :latest)', () => {
    const plan = planPulls(collectWanted([discovery('/', [APP])]), stored, 'missing');
    expect(plan.toPull).toEqual([]);
    expect(plan.present.map((p) => p.image.id)).toEqual(['i1']);
  });

  it('a digest-pinned reference is present when its digest is', () => {
    const pinned = `127.0.0.1:5000/app@${DIGEST}`;
    const other = `127.0.0.1:5000/app@${OTHER_DIGEST}`;
    const plan = planPulls(collectWanted([discovery('/', [pinned, other])]), stored, 'missing');
    expect(plan.present.map((p) => p.wanted.reference)).toEqual([pinned]);
    expect(plan.toPull.map((p) => p.reference)).toEqual([other]);
  });

  it('a tag plus digest is present only when the digest is', () => {
    const ref = `127.0.0.1:5000/app:latest@${OTHER_DIGEST}`;
    const plan = planPulls(collectWanted([discovery('/', [ref])]), stored, 'missing');
    expect(plan.toPull.map((p) => p.reference)).toEqual([ref]);
  });

  it('another tag of the same repository is missing', () => {
    const plan = planPulls(
      collectWanted([discovery('/', ['docker.io/library/nginx:1.26'])]),
      stored,
      'missing',
    );
    expect(plan.toPull).toHaveLength(1);
  });

  it('newer keeps a present digest-pinned image, always asks again', () => {
    const pinned = `127.0.0.1:5000/app@${DIGEST}`;
    const wanted = collectWanted([discovery('/', [pinned])]);
    expect(planPulls(wanted, stored, 'newer').toPull).toEqual([]);
    expect(planPulls(wanted, stored, 'always').toPull.map((p) => p.reference)).toEqual([pinned]);
  });

  it('policies always and newer ask the registry for every image', () => {
    for (const policy of ['always', 'newer'] as const) {
      const plan = planPulls(collectWanted([discovery('/', [APP])]), stored, policy);
      expect(plan.toPull.map((p) => p.reference)).toEqual([APP]);
    }
  });
});

describe('planGc', () => {
  it('removes an image none of whose names or digests is referenced', () => {
    const plan = planGc(
      [APP],
      [
        { id: 'keep', names: [APP], digests: [] },
        { id: 'drop', names: ['127.0.0.1:5000/old:latest'], digests: [`127.0.0.1:5000/old@${DIGEST}`] },
        { id: 'dangling', names: [], digests: [] },
      ],
    );
    expect(plan.remove.map((r) => r.id)).toEqual(['drop', 'dangling']);
    expect(plan.kept).toBe(1);
  });

  it('keeps an image when any one of its names is referenced, untagging the extra one', () => {
    const plan = planGc([APP], [{ id: 'two', names: [APP, '127.0.0.1:5000/app:v2'], digests: [] }]);
    expect(plan.remove).toEqual([]);
    expect(plan.untag).toEqual([{ id: 'two', name: '127.0.0.1:5000/app:v2' }]);
  });

  it('never untags the last name of a kept image, nor a digest-form name', () => {
    const plan = planGc(
      [`127.0.0.1:5000/app@${DIGEST}`],
      [
        {
          id: 'pinned',
          names: ['127.0.0.1:5000/app:latest', `127.0.0.1:5000/app@${OTHER_DIGEST}`],
          digests: [`127.0.0.1:5000/app@${DIGEST}`],
        },
        {
          id: 'two',
          names: ['127.0.0.1:5000/app:v1', '127.0.0.1:5000/app:v2'],
          digests: [`127.0.0.1:5000/app@${DIGEST}`],
        },
      ],
    );
    expect(plan.remove).toEqual([]);
    expect(plan.untag).toEqual([{ id: 'two', name: '127.0.0.1:5000/app:v1' }]);
  });

  it('keeps an image referenced only by digest', () => {
    const plan = planGc(
      [`127.0.0.1:5000/app@${DIGEST}`],
      [{ id: 'pinned', names: [], digests: [`127.0.0.1:5000/app@${DIGEST}`] }],
    );
    expect(plan.remove).toEqual([]);
  });

  it('compares normalized names: Image=nginx keeps docker.io/library/nginx:latest', () => {
    const plan = planGc(
      ['docker.io/library/nginx:latest'],
      [{ id: 'n', names: ['nginx:latest'], digests: [] }],
    );
    expect(plan.remove).toEqual([]);
    expect(plan.untag).toEqual([]);
  });
});

describe("planGc: a deployment's host image is never removed", () => {
  const OS = 'quay.io/example/os';
  const stored: StoreEntry[] = [
    { id: 'os', names: [`${OS}:42`], digests: [`${OS}@${DIGEST}`] },
    { id: 'os-old', names: [`${OS}:41`], digests: [`${OS}@${OTHER_DIGEST}`] },
    { id: 'hub', names: ['docker.io/library/fedora:latest'], digests: [] },
    { id: 'app', names: [APP], digests: [] },
  ];
  const removed = (hosts: Parameters<typeof planGc>[2]) =>
    planGc([APP], stored, hosts)
      .remove.map((r) => r.id)
      .sort();

  it('without host images, only bound images are kept (bootc before unified storage)', () => {
    expect(removed([])).toEqual(['hub', 'os', 'os-old']);
  });

  it("the origin's image name keeps its image, compared normalized (fedora = docker.io/library/fedora:latest)", () => {
    expect(removed([{ image: `${OS}:42` }])).toEqual(['hub', 'os-old']);
    expect(removed([{ image: 'fedora' }])).toEqual(['os', 'os-old']);
  });

  it('the manifest digest a composefs origin records keeps the image under another tag', () => {
    expect(removed([{ image: `${OS}:42`, manifestDigest: OTHER_DIGEST }])).toEqual(['hub']);
    // Without the digest an image listed under another tag is not known to be the host image.
    expect(removed([{ image: `${OS}:42` }])).toContain('os-old');
  });

  it("a host image's name is never untagged; a name the grammar refuses is compared as written", () => {
    const plan = planGc(
      [APP],
      [{ id: 'os', names: [`${OS}:42`, `${OS}:stable`], digests: [] }],
      [{ image: `${OS}:stable` }],
    );
    expect(plan.remove).toEqual([]);
    expect(plan.untag).toEqual([{ id: 'os', name: `${OS}:42` }]);
    expect(hostImageKeys({ image: 'Not A Reference' })).toEqual(['Not A Reference']);
    expect(hostImageKeys({ image: `${OS}`, manifestDigest: 'garbage' })).toEqual([`${OS}:latest`]);
  });
});

describe('gcBlocker', () => {
  const ok: GcInputs = {
    enabledByConfig: true,
    enabledByCaller: true,
    cancelled: false,
    unreadableRoots: [],
    discoveryErrors: 0,
    originErrors: 0,
    failedPulls: 0,
  };
  it('lets GC run only when everything went well', () => {
    expect(gcBlocker(ok)).toBeNull();
  });
  it.each([
    [{ enabledByConfig: false }, /disabled in the configuration/],
    [{ enabledByCaller: false }, /not requested/],
    [{ cancelled: true }, /cancelled/],
    [{ unreadableRoots: ['/sysroot/x'] }, /could not be read: \/sysroot\/x/],
    [{ discoveryErrors: 2 }, /2 bound-image file/],
    [{ originErrors: 1 }, /1 deployment origin file\(s\) could not be read/],
    [{ failedPulls: 1 }, /1 pull\(s\) failed/],
  ] as const)('skips GC when %o', (change, reason) => {
    expect(gcBlocker({ ...ok, ...change })).toMatch(reason);
  });
});
