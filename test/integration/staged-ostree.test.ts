// The staged-deployment rules against Debian's real ostree (2022.7): a sysroot in a temp dir whose
// first deployment is "booted" (scripts/harness/ostree-sysroot.ts), deployments staged with
// `ostree admin deploy --stage`, and `ostree admin finalize-staged` (what ostree-finalize-staged.service
// runs at shutdown) deciding whether the next boot gets the staged deployment. The guard reads
// ostree's own marker and writes the lock ostree checks; only the store's answer (which images are
// present) is given by the test.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, reapStrays, releaseDir } from '../../scripts/harness/cleanup.js';
import { makeOstreeSysroot, type OstreeSysroot } from '../../scripts/harness/ostree-sysroot.js';
import { FINALIZATION_LOCK, readStagedDeployment, STAGED_MARKER } from '../../src/staged/marker.js';
import { StagedGuard, type Presence } from '../../src/staged/staged-guard.js';
import { StateStore } from '../../src/state/state-store.js';
import { MessageId } from '../../src/systemd/message-ids.js';

const APP = '127.0.0.1:1/app:2';
let os: OstreeSysroot;
let stateDir: string;
let presence: Presence;
let logged: { message: string; messageId?: string }[];
let guard: StagedGuard;
let store: StateStore;

const log = (message: string, fields?: { messageId?: string }): void =>
  void logged.push({ message, ...(fields?.messageId ? { messageId: fields.messageId } : {}) });
const lockFile = (): string => join(os.ostreeRunDir, FINALIZATION_LOCK);
const marker = (): string => join(os.ostreeRunDir, STAGED_MARKER);
const missing: Presence = { total: 1, present: 0, missing: [APP], problems: [] };
const present: Presence = { total: 1, present: 1, missing: [], problems: [] };

async function newGuard(): Promise<StagedGuard> {
  store = await StateStore.open(stateDir, { err: log, warning: log, notice: log });
  return new StagedGuard({
    runDir: os.ostreeRunDir,
    sysroot: os.sysroot,
    lockFinalization: true,
    retryDelayMs: 60_000,
    retryMaxDelayMs: 60_000,
    logger: { err: log, warning: log, notice: log },
    record: { get: () => store.staged, set: (r) => store.setStaged(r) },
    presence: () => Promise.resolve(presence),
    retry: () => undefined,
  });
}

beforeAll(async () => {
  reapStrays();
  os = await makeOstreeSysroot();
  await os.commit('os/app', [{ file: 'app.image', reference: APP }]);
  await os.commit('os/other', [{ file: 'app.image', reference: APP }]);
});
afterAll(() => {
  guard?.stop();
  os?.release();
  if (stateDir) releaseDir(stateDir);
});
beforeEach(async () => {
  logged = [];
  if (stateDir) releaseDir(stateDir);
  stateDir = makeTempDir('staged-state');
  guard = await newGuard();
});

describe('with ostree 2022.7 staging for real', () => {
  it('reads the deployment ostree staged, and its root exists with the bound Quadlet file', async () => {
    await os.stage('os/app');
    const staged = await readStagedDeployment(os.ostreeRunDir, os.sysroot);
    expect(staged?.name).toBe(await os.stagedName());
    expect(existsSync(join(staged?.root ?? '/nonexistent', 'usr/share/containers/systemd/app.image'))).toBe(
      true,
    );
  });

  it('holds finalization while an image is missing (finalize-staged keeps the current deployment), lets it through once present', async () => {
    const entriesBefore = os.bootEntries();
    presence = missing;
    expect((await guard.refresh()).lock).toBe('held');
    const held = await os.finalize();
    expect(held.code).toBe(0);
    expect(existsSync(marker())).toBe(true);
    expect(os.bootEntries()).toEqual(entriesBefore);
    expect(await os.stagedName()).not.toBeNull();

    presence = present;
    expect((await guard.refresh()).lock).toBe('none');
    expect(existsSync(lockFile())).toBe(false);
    const done = await os.finalize();
    expect(done.code).toBe(0);
    expect(existsSync(marker())).toBe(false);
    expect(os.bootEntries().length).toBe(entriesBefore.length + 1);
    expect(logged.map((l) => l.messageId)).toEqual([MessageId.StagedLockTaken, MessageId.StagedLockReleased]);
    expect((await guard.refresh()).deployment).toBe('');
  });

  it('never removes a lock from `ostree admin deploy --stage --lock-finalization`', async () => {
    await os.stage('os/app', { lockFinalization: true });
    const before = await readFile(lockFile());
    presence = missing;
    expect((await guard.refresh()).lock).toBe('other');
    presence = present;
    expect((await guard.refresh()).lock).toBe('other');
    expect(await readFile(lockFile())).toEqual(before);
    const r = await os.finalize();
    expect(r.code).toBe(0);
    expect(existsSync(marker())).toBe(true);
    expect(logged.map((l) => l.messageId)).toEqual([MessageId.StagedLockNotOurs]);
    // Cleanup for the next case: the operator unlocks and ostree undeploys the staged one.
    await writeFile(lockFile(), '');
    await os.undeploy(0);
  });

  it('our lock, and the staged deployment undeployed: ostree removes the lock itself, we forget ours', async () => {
    await os.stage('os/app');
    presence = missing;
    await guard.refresh();
    expect(existsSync(lockFile())).toBe(true);
    await os.undeploy(0);
    expect(existsSync(marker())).toBe(false);
    expect(existsSync(lockFile())).toBe(false);
    expect((await guard.refresh()).deployment).toBe('');
    expect(store.staged).toBeNull();
  });

  it('our lock, and another deployment staged over it: 2022.7 keeps the lock file, we move it to the new one', async () => {
    await os.stage('os/app');
    presence = missing;
    const first = await guard.refresh();
    await os.stage('os/other');
    expect(existsSync(lockFile())).toBe(true);
    const second = await guard.refresh();
    expect(second.deployment).not.toBe(first.deployment);
    expect(second.lock).toBe('held');
    expect(await readFile(lockFile(), 'utf8')).toContain(`deployment=${second.deployment}`);
    expect(logged.map((l) => l.messageId)).toEqual([
      MessageId.StagedLockTaken,
      MessageId.StagedLockReleased,
      MessageId.StagedLockTaken,
    ]);
    presence = present;
    await guard.refresh();
    expect(existsSync(lockFile())).toBe(false);
    expect((await os.finalize()).code).toBe(0);
    expect(existsSync(marker())).toBe(false);
  });
});
