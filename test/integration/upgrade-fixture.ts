// The fixture the two Upgrade suites share (dbus-upgrade through busctl, cli-upgrade through
// bound-images): a sandbox whose registry holds `app`, `db` (two layers) and `extra`, a private bus,
// a root binding app (an .image) and db (a .container), and the daemon on them.
import { join } from 'node:path';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { startSandbox, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import { ensureBuilt, makeRoot, startDaemon, type DaemonProcess } from './daemon-harness.js';

export interface UpgradeFixture {
  sandbox: Sandbox;
  bus: PrivateBus;
  daemon: DaemonProcess;
  /** Temp dir holding the root, the config and the state directory. */
  dir: string;
  root: string;
  app: MadeImage;
  db: MadeImage;
  /** Made but bound by no root at the start. */
  extra: MadeImage;
  /** Stops the daemon, the bus and the sandbox. */
  stop(): Promise<void>;
}

export async function startUpgradeFixture(prefix: string): Promise<UpgradeFixture> {
  await ensureBuilt();
  const sandbox = await startSandbox();
  let bus: PrivateBus | undefined;
  try {
    const [app, db, extra] = (await sandbox.makeImages([
      { name: 'app' },
      { name: 'db', layers: 2 },
      { name: 'extra' },
    ])) as [MadeImage, MadeImage, MadeImage];
    bus = await startPrivateBus();
    const dir = makeTempDir(prefix);
    const root = await makeRoot(join(dir, 'root'), [
      { name: 'app.image', image: app.reference },
      { name: 'db.container', image: db.reference },
    ]);
    const daemon = await startDaemon(bus, join(dir, 'config.ini'), {
      storePath: sandbox.podman.storePath,
      podmanSocket: sandbox.podman.socketPath,
      roots: [root],
      stateDirectory: join(dir, 'state'),
    });
    const started = bus;
    return {
      sandbox,
      bus,
      daemon,
      dir,
      root,
      app,
      db,
      extra,
      async stop() {
        await daemon.stop();
        await started.stop();
        await sandbox.stop();
      },
    };
  } catch (error) {
    await bus?.stop();
    await sandbox.stop();
    throw error;
  }
}
