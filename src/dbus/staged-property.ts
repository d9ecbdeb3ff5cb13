// The manager's StagedDeployment property: the staged deployment guard's status as an a{sv}, each
// value a variant of a fixed type (the keys and types are listed in docs/dbus-api.md). An empty
// dictionary means nothing is staged.
import dbus from 'dbus-next';
import type { StagedStatus } from '../staged/staged-guard.js';

const { Variant } = dbus;

export function stagedProperty(s: StagedStatus): Record<string, dbus.Variant> {
  if (s.deployment === '') return {};
  return {
    Deployment: new Variant('s', s.deployment),
    Root: new Variant('s', s.root),
    ImagesTotal: new Variant('u', s.imagesTotal),
    ImagesPresent: new Variant('u', s.imagesPresent),
    Missing: new Variant('as', [...s.missing]),
    Complete: new Variant('b', s.complete),
    FinalizationLock: new Variant('s', s.lock),
    Reason: new Variant('s', s.reason),
    Attempts: new Variant('u', s.attempts),
    NextRetry: new Variant('t', BigInt(s.nextRetryAt) * 1000n),
  };
}
