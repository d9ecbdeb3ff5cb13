// The Cockpit page's pure rules, without a browser: who may press "Update now" (access.ts), how the
// D-Bus values cockpit.js hands over are decoded (decode.ts), and how ids, times, results and the
// table's order are shown (format.ts). The page itself is driven in a browser by
// test/integration/cockpit-page.test.ts.
import { describe, expect, it } from 'vitest';
import { actionBlock, errorText, isAccessDenied } from '../../cockpit/src/access.js';
import {
  decodeJob,
  decodeManager,
  decodeRows,
  decodeStaged,
  type BoundImageRow,
} from '../../cockpit/src/decode.js';
import {
  countStates,
  formatRelative,
  percent,
  resultTone,
  shortId,
  sortRows,
  stateTone,
} from '../../cockpit/src/format.js';

describe('who may press "Update now"', () => {
  const facts = { permission: null, deniedMessage: null, daemonAvailable: true };

  it('leaves it to the daemon while the permission is unknown, and allows an administrator', () => {
    expect(actionBlock(facts)).toBeNull();
    expect(actionBlock({ ...facts, permission: true })).toBeNull();
  });

  it('blocks a session without administrative access', () => {
    expect(actionBlock({ ...facts, permission: false })).toEqual({ kind: 'no-admin' });
  });

  it("blocks with the daemon's message once it answered AccessDenied, whatever the permission said", () => {
    const denied = 'org.bootc.BoundImages.Upgrade is only allowed for root (UID 0); the caller is UID 1000';
    expect(actionBlock({ ...facts, permission: true, deniedMessage: denied })).toEqual({
      kind: 'denied',
      message: denied,
    });
  });

  it('blocks when the daemon is not on the bus, before anything else', () => {
    expect(actionBlock({ permission: false, deniedMessage: 'x', daemonAvailable: false })).toEqual({
      kind: 'unavailable',
    });
  });

  it("recognizes the daemon's and the bus policy's refusal, and nothing else", () => {
    expect(isAccessDenied({ name: 'org.freedesktop.DBus.Error.AccessDenied', message: 'm' })).toBe(true);
    expect(isAccessDenied({ name: null, problem: 'access-denied', message: 'm' })).toBe(true);
    expect(isAccessDenied({ name: 'org.freedesktop.DBus.Error.Failed', message: 'm' })).toBe(false);
    expect(isAccessDenied(new Error('AccessDenied'))).toBe(false);
    expect(isAccessDenied(null)).toBe(false);
  });

  it("takes an error's text from its D-Bus message, or says Cockpit's problem code in words", () => {
    expect(errorText({ name: 'x', problem: null, message: 'the reason' })).toBe('the reason');
    expect(errorText({ name: null, problem: 'not-found', message: 'Not found' })).toBe(
      'org.bootc.BoundImages is not on the system bus',
    );
    expect(errorText({ problem: 'some-new-code', message: '' })).toBe('some-new-code');
    expect(errorText('plain')).toBe('plain');
  });
});

describe('decoding what cockpit.js hands over', () => {
  it('reads the manager, with empty values for what is missing or mistyped', () => {
    const m = decodeManager({
      State: 'idle',
      LastResult: 'success',
      LastReconcileTime: 1795739298422000,
      Roots: ['/', 42, '/sysroot'],
      CurrentJob: '/org/bootc/BoundImages/job/3',
      Version: 7,
    });
    expect(m).toMatchObject({
      state: 'idle',
      lastResult: 'success',
      lastReconcileTime: 1795739298422000,
      roots: ['/', '/sysroot'],
      currentJob: '/org/bootc/BoundImages/job/3',
      version: '',
      storePath: '',
      staged: undefined,
    });
    expect(decodeManager({}).currentJob).toBe('/');
  });

  it('reads a job, its errors as pairs and its progress clamped to 0..1', () => {
    const j = decodeJob('/org/bootc/BoundImages/job/2', {
      Id: 2,
      State: 'failed',
      Phase: 'done',
      Progress: 1.5,
      Pulled: ['a'],
      Errors: [['/r/usr/share/containers/systemd/x.image', 'line 3: bad'], 'junk', ['only-subject']],
    });
    expect(j.progress).toBe(1);
    expect(j.errors).toEqual([
      { subject: '/r/usr/share/containers/systemd/x.image', message: 'line 3: bad' },
      { subject: 'only-subject', message: '' },
    ]);
    expect(decodeJob('/j', { Progress: -0.2 }).progress).toBe(0);
  });

  it('reads rows with their root (ListBoundImagesByRoot) and without (ListBoundImages)', () => {
    expect(decodeRows([['/r', 'ref', '/f', 'present', 'sha256:1']], true)).toEqual([
      { root: '/r', reference: 'ref', sourceFile: '/f', state: 'present', detail: 'sha256:1' },
    ]);
    expect(decodeRows([['ref', '/f', 'missing', ''], 'junk'], false)).toEqual([
      { root: '', reference: 'ref', sourceFile: '/f', state: 'missing', detail: '' },
    ]);
    expect(decodeRows(null, true)).toEqual([]);
  });

  it('reads StagedDeployment (a{sv}) key by key; an empty one is nothing staged', () => {
    const v = (t: string, value: unknown): { t: string; v: unknown } => ({ t, v: value });
    expect(
      decodeStaged({
        Deployment: v('s', 'os/3c2680dd.1'),
        Root: v('s', '/sysroot/ostree/deploy/os/deploy/3c2680dd.1'),
        ImagesTotal: v('u', 2),
        ImagesPresent: v('u', 1),
        Missing: v('as', ['quay.io/example/app:2']),
        Complete: v('b', false),
        FinalizationLock: v('s', 'held'),
        Reason: v('s', '1 of 2 bound images missing: quay.io/example/app:2'),
        Attempts: v('u', 2),
        NextRetry: v('t', 1795739323422000),
      }),
    ).toEqual({
      deployment: 'os/3c2680dd.1',
      root: '/sysroot/ostree/deploy/os/deploy/3c2680dd.1',
      imagesTotal: 2,
      imagesPresent: 1,
      missing: ['quay.io/example/app:2'],
      complete: false,
      lock: 'held',
      reason: '1 of 2 bound images missing: quay.io/example/app:2',
      attempts: 2,
      nextRetry: 1795739323422000,
    });
    expect(decodeStaged({})).toBeNull();
    expect(decodeStaged(undefined)).toBeNull();
    expect(decodeStaged(['os/x.0'])).toBeNull();
  });
});

describe('how the page shows things', () => {
  it('shortens an image id as podman images does, and leaves anything else alone', () => {
    expect(shortId('sha256:9f2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00')).toBe(
      '9f2c3d4e5f60',
    );
    expect(shortId('9f2c3d4e5f60718293')).toBe('9f2c3d4e5f60');
    expect(shortId('not-an-id')).toBe('not-an-id');
  });

  it('says how long ago in the largest fitting unit', () => {
    const now = Date.UTC(2026, 11, 2, 12, 0, 0);
    expect(formatRelative((now - 5_000) * 1000, now, 'en')).toBe('5 seconds ago');
    expect(formatRelative((now - 3 * 60_000) * 1000, now, 'en')).toBe('3 minutes ago');
    expect(formatRelative((now - 2 * 3_600_000) * 1000, now, 'en')).toBe('2 hours ago');
    expect(formatRelative((now - 3 * 86_400_000) * 1000, now, 'en')).toBe('3 days ago');
    expect(formatRelative(0, now, 'en')).toBe('');
  });

  it('colours results and states', () => {
    expect(resultTone('success')).toBe('success');
    expect(resultTone('failed: 1 pull(s) failed')).toBe('danger');
    expect(resultTone('cancelled')).toBe('warning');
    expect(resultTone('')).toBe('neutral');
    expect(['present', 'missing', 'failed', 'invalid', 'other'].map(stateTone)).toEqual([
      'success',
      'warning',
      'danger',
      'danger',
      'neutral',
    ]);
    expect([0, 0.254, 1, 2].map(percent)).toEqual([0, 25, 100, 100]);
  });

  it('puts the entries that need a reader first, then orders by root and reference', () => {
    const row = (root: string, reference: string, state: string): BoundImageRow => ({
      root,
      reference,
      sourceFile: `/u/${reference}`,
      state,
      detail: '',
    });
    const rows = [row('/b', 'a', 'present'), row('/a', 'z', 'present'), row('/b', 'x', 'invalid')];
    expect(sortRows(rows).map((r) => `${r.root} ${r.reference}`)).toEqual(['/b x', '/a z', '/b a']);
    expect(countStates(rows)).toEqual({ present: 2, invalid: 1 });
  });
});
