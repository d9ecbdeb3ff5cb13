import { describe, expect, it } from 'vitest';
import { stagedProperty } from '../dbus/staged-property.js';
import { NOTHING_STAGED, type StagedStatus } from '../staged/staged-guard.js';
import { decodeStaged, STAGED_KEYS, stagedJson, stagedRows } from './staged.js';

const NOW = 1_800_000_000_000;
const held: StagedStatus = {
  deployment: `os/${'a'.repeat(64)}.1`,
  root: `/sysroot/ostree/deploy/os/deploy/${'a'.repeat(64)}.1`,
  imagesTotal: 2,
  imagesPresent: 1,
  missing: ['quay.io/x/app:2'],
  complete: false,
  lock: 'held',
  reason: '1 of 2 bound images missing: quay.io/x/app:2',
  attempts: 2,
  nextRetryAt: NOW + 25_000,
};

describe('StagedDeployment between daemon and client', () => {
  it('carries every key with the type the client expects, and decodes back', () => {
    const dict = stagedProperty(held);
    expect(Object.fromEntries(Object.entries(dict).map(([k, v]) => [k, v.signature]))).toEqual(STAGED_KEYS);
    expect(decodeStaged(dict)).toEqual({
      deployment: held.deployment,
      root: held.root,
      imagesTotal: 2,
      imagesPresent: 1,
      missing: ['quay.io/x/app:2'],
      complete: false,
      lock: 'held',
      reason: held.reason,
      attempts: 2,
      nextRetry: (NOW + 25_000) * 1000,
    });
  });

  it('is an empty dictionary when nothing is staged', () => {
    expect(stagedProperty(NOTHING_STAGED)).toEqual({});
    expect(decodeStaged({})).toBeNull();
    expect(stagedRows(null, NOW)).toEqual([['Staged', 'none']]);
    expect(stagedJson(null)).toBeNull();
  });

  it('refuses a known key of another type, naming it', () => {
    const dict = { ...stagedProperty(held), ImagesTotal: { signature: 's', value: '2' } };
    expect(() => decodeStaged(dict)).toThrow(/StagedDeployment\.ImagesTotal is not of type 'u'/);
  });
});

describe('status rows', () => {
  it('say what is staged, who holds the lock, why, and when the next retry comes', () => {
    expect(stagedRows(decodeStaged(stagedProperty(held)), NOW)).toEqual([
      ['Staged', `${held.deployment}, 1/2 bound images present`],
      [
        'Finalization',
        'locked by bound-imaged: 1 of 2 bound images missing: quay.io/x/app:2 (retry 3 in 25 s)',
      ],
    ]);
    const other = { ...held, lock: 'other' as const, reason: 'r', nextRetryAt: 0 };
    expect(stagedRows(decodeStaged(stagedProperty(other)), NOW)[1]).toEqual([
      'Finalization',
      'locked, not by bound-imaged: r',
    ]);
    const done = {
      ...held,
      lock: 'none' as const,
      complete: true,
      imagesPresent: 2,
      missing: [],
      reason: 'all 2 bound images present',
      nextRetryAt: 0,
    };
    expect(stagedRows(decodeStaged(stagedProperty(done)), NOW)).toEqual([
      ['Staged', `${held.deployment}, 2/2 bound images present`],
      ['Finalization', 'not locked: all 2 bound images present'],
    ]);
    expect(stagedJson(decodeStaged(stagedProperty(held)))).toMatchObject({
      lock: 'held',
      nextRetry: new Date(NOW + 25_000).toISOString(),
    });
  });
});
