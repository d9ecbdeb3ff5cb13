// `--keep`: the exact commands to try against the sandbox that stays up — the client, busctl on the
// private bus, re-binding the unbound image, the daemon's log and the consumer Podman — each a
// complete shell line that works as printed from another root shell.
import { MANAGER_INTERFACE, MANAGER_PATH } from '../../src/contract/index.js';
import { BOUND_IMAGES_BUS_NAME, type PrivateBus } from '../harness/dbus-daemon.js';
import type { PodmanCli } from '../harness/podman-service.js';
import { followLogCommand, type LogView } from './journal.js';
import { commandLine, type Output } from './output.js';

const MANAGER_IFACE = MANAGER_INTERFACE;

export interface KeepInfo {
  bus: PrivateBus;
  root: string;
  /** argv of the client without its command word: `node …/dist/src/cli/main.js`. */
  cli: string[];
  consumer: PodmanCli;
  logView: LogView;
  /** The link step 5 removed, to put back. */
  unbound: { link: string; target: string };
}

/** The commands, as [comment, command line] pairs; the lines assume the `export` printed first. */
export function keepCommands(k: KeepInfo): [string, string][] {
  const busctl = (args: string[]): string => commandLine(['busctl', ...args]);
  const client = (args: string[]): string => commandLine([...k.cli, ...args]);
  const manager = [BOUND_IMAGES_BUS_NAME, MANAGER_PATH];
  return [
    ['the daemon, its last result and roots', client(['status'])],
    ['every bound image and its state', client(['list'])],
    ['bind web.image again …', commandLine(['ln', '-s', k.unbound.target, k.unbound.link])],
    ['… and pull it back, following the job', client(['upgrade'])],
    ['what pulling everything again would do', client(['upgrade', '--dry-run', '--pull-policy', 'always'])],
    ['the D-Bus API', busctl(['introspect', ...manager, MANAGER_IFACE])],
    ['a property', busctl(['get-property', ...manager, MANAGER_IFACE, 'LastResult'])],
    ['the bound images, raw', busctl(['call', ...manager, MANAGER_IFACE, 'ListBoundImages'])],
    [
      'start a reconcile; it answers with the job object at once',
      busctl(['call', ...manager, MANAGER_IFACE, 'Upgrade', 'a{sv}', '0']),
    ],
    ['the store as a consumer sees it', commandLine(['podman', ...k.consumer.globalArgs, 'images'])],
    ["the daemon's log, live (Ctrl-C ends it)", followLogCommand(k.logView)],
  ];
}

export function printKeepCommands(out: Output, k: KeepInfo): void {
  out.heading(7, 'The sandbox stays up (--keep)');
  out.say('Try, from another root shell (busctl and bound-images need the private bus):\n');
  out.say(`  export DBUS_SYSTEM_BUS_ADDRESS=${k.bus.address}`);
  for (const [comment, line] of keepCommands(k)) {
    out.say(`  # ${comment}`);
    out.say(`  ${line}`);
  }
}
