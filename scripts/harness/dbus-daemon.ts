// A private system-type D-Bus for tests: a real dbus-daemon with a config like the distribution's
// system.conf, but listening on a socket in a temp dir, without <user> (it runs as us) and without
// the distribution's policy includes. Its policy lets root own org.bootc.BoundImages and lets EVERY
// user send to it, so a non-root caller's Upgrade reaches the daemon and the daemon's own check is
// what refuses it (the shipped dbus/org.bootc.BoundImages.conf is tested elsewhere). Anyone may send
// to org.freedesktop.PolicyKit1, as polkit's own policy allows on a real system bus; no polkitd runs
// here, so the daemon's question to it ends in ServiceUnknown (the real polkitd: e2e-admin.test.ts).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from './cleanup.js';
import { spawnService, waitUntil } from './proc.js';
import { BUS_NAME } from '../../src/contract/index.js';

/** The daemon's bus name (the contract's), which the private bus lets root own. */
export const BOUND_IMAGES_BUS_NAME = BUS_NAME;

export interface PrivateBus {
  /** The bus address, for DBUS_SYSTEM_BUS_ADDRESS and `busctl --address=`. */
  readonly address: string;
  readonly socketPath: string;
  readonly configFile: string;
  readonly pid: number;
  /** Environment for a child process that should use this bus as its system bus. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export interface PrivateBusOptions {
  /** Well-known names root may own besides org.bootc.BoundImages. */
  extraOwnNames?: string[];
  /**
   * D-Bus activation of org.bootc.BoundImages, as the shipped activation file gives it: a call to the
   * name while nobody owns it makes dbus-daemon run `exec` (argv, words without spaces) and hold the
   * call until the name is taken. Without a <servicehelper> the bus runs it itself, as us, with the
   * bus's environment, in which DBUS_SYSTEM_BUS_ADDRESS names this bus.
   */
  activate?: { exec: readonly string[] };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The bus configuration: system.conf's default policy, our socket, and holes for our name. */
export function busConfig(socketPath: string, ownNames: readonly string[], serviceDir?: string): string {
  const own = ownNames.map((n) => `    <allow own="${escapeXml(n)}"/>`).join('\n');
  const send = ownNames.map((n) => `    <allow send_destination="${escapeXml(n)}"/>`).join('\n');
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${escapeXml(socketPath)}</listen>
${serviceDir === undefined ? '' : `  <servicedir>${escapeXml(serviceDir)}</servicedir>\n`}  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
${send}
  </policy>
  <policy user="root">
${own}
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
</busconfig>
`;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startPrivateBus(opts: PrivateBusOptions = {}): Promise<PrivateBus> {
  const dir = makeTempDir('dbus');
  // Other users (the AccessDenied tests run busctl as UID 65534) must reach the socket.
  chmodSync(dir, 0o755);
  const socketPath = join(dir, 'bus');
  const configFile = join(dir, 'bus.conf');
  const address = `unix:path=${socketPath}`;
  let serviceDir: string | undefined;
  if (opts.activate) {
    if (opts.activate.exec.some((w) => /\s/.test(w))) {
      throw new Error(`activation Exec words must not contain spaces: ${opts.activate.exec.join(' ')}`);
    }
    serviceDir = join(dir, 'system-services');
    mkdirSync(serviceDir);
    writeFileSync(
      join(serviceDir, `${BOUND_IMAGES_BUS_NAME}.service`),
      `[D-BUS Service]\nName=${BOUND_IMAGES_BUS_NAME}\nExec=${opts.activate.exec.join(' ')}\n`,
    );
  }
  writeFileSync(
    configFile,
    busConfig(socketPath, [BOUND_IMAGES_BUS_NAME, ...(opts.extraOwnNames ?? [])], serviceDir),
  );
  const proc = spawnService(
    'dbus-daemon',
    [`--config-file=${configFile}`, '--nofork', '--nopidfile', '--nosyslog'],
    {
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address },
      stdoutFile: join(dir, 'dbus-daemon.out'),
      stderrFile: join(dir, 'dbus-daemon.err'),
    },
  );
  try {
    await waitUntil(
      'private dbus-daemon',
      async () => existsSync(socketPath) && (await canConnect(socketPath)),
      {
        timeoutMs: 10_000,
        giveUp: () =>
          proc.hasExited() ? `dbus-daemon exited; see ${join(dir, 'dbus-daemon.err')}` : undefined,
      },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    releaseDir(dir);
    throw err;
  }
  return {
    address,
    socketPath,
    configFile,
    pid: proc.pid,
    env: (base = process.env) => ({ ...base, DBUS_SYSTEM_BUS_ADDRESS: address }),
    async stop() {
      await proc.stop('SIGTERM', 2000);
      releaseDir(dir);
    },
  };
}
