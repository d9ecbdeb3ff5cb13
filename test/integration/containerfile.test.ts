// The image author's COPY recipe (packaging/containerfile/Containerfile.copy) built with podman, as
// far as these machines can build (COPY works, RUN does not): FROM a local base image (busybox,
// `podman import`ed), with package.sh's output as the build context. The image must hold every file
// install.sh staged, the units' enablement links as `systemctl enable` makes them, and no node_modules.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { projectRoot } from '../../scripts/harness/package-install.js';
import type { BuiltPackages } from '../../scripts/harness/packages.js';
import { buildPackages, stagedFiles } from '../../scripts/harness/packages.js';
import type { PodmanConsumer } from '../../scripts/harness/podman-service.js';
import { startPodmanCli } from '../../scripts/harness/podman-service.js';
import { run } from '../../scripts/harness/proc.js';
import { ensureBuilt } from './daemon-harness.js';

const BASE = 'localhost/bound-imaged-test-base:latest';
const IMAGE = 'localhost/bound-imaged-test-image:latest';

let pkgs: BuiltPackages;
let podman: PodmanConsumer;
/** `tar -tv` of the built image's exported file system: path → symlink target ('' for others). */
let content: Map<string, string>;

beforeAll(async () => {
  await ensureBuilt();
  pkgs = await buildPackages({ formats: [] });
  podman = await startPodmanCli({ prefix: 'cf' });
  const work = makeTempDir('cf-base');
  mkdirSync(join(work, 'root', 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(work, 'root', 'bin', 'busybox'));
  await run('tar', ['-C', join(work, 'root'), '--owner=0', '--group=0', '-cf', join(work, 'base.tar'), '.']);
  await podman.podman(['import', join(work, 'base.tar'), BASE]);

  const containerfile = join(projectRoot(), 'packaging', 'containerfile', 'Containerfile.copy');
  await podman.podman(['build', '-f', containerfile, '--build-arg', `BASE=${BASE}`, '-t', IMAGE, pkgs.out], {
    timeoutMs: 180_000,
  });
  const id = (await podman.podman(['create', IMAGE, '/bin/busybox', 'true'])).stdout.trim();
  const tar = join(work, 'image.tar');
  await podman.podman(['export', '-o', tar, id]);
  await podman.podman(['rm', id]);
  const listing = (await run('tar', ['-tvf', tar])).stdout;
  content = new Map(
    listing
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [, path = '', target = ''] = /\d\d:\d\d(?::\d\d)? (.*?)(?: -> (.*))?$/.exec(line) ?? [];
        return ['/' + path.replace(/^\.?\//, '').replace(/\/$/, ''), target];
      }),
  );
}, 300_000);

afterAll(async () => {
  await podman?.stop();
  pkgs?.dispose();
});

describe('Containerfile.copy FROM a local base image', () => {
  it('puts every staged file into the image, beside the base image’s own', () => {
    const missing = stagedFiles(pkgs.stage).filter((f) => !content.has(f));
    expect(missing).toEqual([]);
    expect(content.has('/bin/busybox')).toBe(true);
    expect([...content.keys()].filter((p) => p.includes('node_modules'))).toEqual([]);
    expect(content.has('/usr/lib/bound-imaged/native/notify.node')).toBe(true);
  });

  it('enables the units with [Install] by the links systemctl enable makes', () => {
    expect(content.get('/etc/systemd/system/timers.target.wants/bound-imaged-reconcile.timer')).toBe(
      '/usr/lib/systemd/system/bound-imaged-reconcile.timer',
    );
    expect(content.get('/etc/systemd/system/sockets.target.wants/bound-imaged-podman.socket')).toBe(
      '/usr/lib/systemd/system/bound-imaged-podman.socket',
    );
    expect(content.get('/etc/systemd/system/paths.target.wants/bound-imaged-staged.path')).toBe(
      '/usr/lib/systemd/system/bound-imaged-staged.path',
    );
    const wants = [...content.keys()].filter((p) => p.includes('.wants/'));
    expect(wants.sort()).toEqual([
      '/etc/systemd/system/paths.target.wants/bound-imaged-staged.path',
      '/etc/systemd/system/sockets.target.wants/bound-imaged-podman.socket',
      '/etc/systemd/system/timers.target.wants/bound-imaged-reconcile.timer',
    ]);
  });
});
