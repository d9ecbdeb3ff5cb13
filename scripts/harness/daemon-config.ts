// The bound-imaged config.ini that the demo, the benchmarks and the integration tests give the daemons
// they start: a store and its Podman socket, the roots, the global auth file and the state directory,
// plus whatever [pull] and [daemon] keys each of them sets (keys: docs/configuration.md).

export interface DaemonConfigText {
  storePath: string;
  podmanSocket: string;
  roots: readonly string[];
  /** The global [pull] auth-file (the callers point it at a file that does not exist: anonymous pulls). */
  authFile: string;
  stateDirectory: string;
  /** More [pull] keys, written before auth-file in this order. */
  pull?: readonly string[];
  /** More [daemon] keys, written after state-directory in this order. */
  daemon?: readonly string[];
  /** Lines appended as they are (further sections). */
  extra?: string;
}

export function daemonConfigText(c: DaemonConfigText): string {
  return [
    '[storage]',
    `path = ${c.storePath}`,
    `podman-socket = ${c.podmanSocket}`,
    '[discovery]',
    `roots = ${c.roots.join(' ')}`,
    '[pull]',
    ...(c.pull ?? []),
    `auth-file = ${c.authFile}`,
    '[daemon]',
    `state-directory = ${c.stateDirectory}`,
    ...(c.daemon ?? []),
    ...(c.extra === undefined ? [] : [c.extra]),
    '',
  ].join('\n');
}
