// What the tests of a booted machine (scripts/harness/nspawn.ts) ask bound-imaged and its store
// inside it: a job's state over the system bus (busctl), a wait for a job's end, and the images the
// Podman service behind the daemon's socket lists (curl on the socket, the only way to the store).
import { BUS_NAME, JOB_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH } from '../../src/contract/index.js';
import { waitFor, type NspawnMachine } from './nspawn.js';

/** The Podman API socket of the installed units (bound-imaged-podman.socket). */
export const MACHINE_PODMAN_SOCKET = '/run/bound-imaged/podman.sock';

/** busctl's service, object and interface arguments for the manager: `[...MANAGER_BUSCTL, 'Upgrade', …]`. */
export const MANAGER_BUSCTL: readonly string[] = [BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE];

/** A job's `State` property. */
export async function jobState(machine: NspawnMachine, job: string): Promise<string> {
  return (await machine.busJson(['get-property', BUS_NAME, job, JOB_INTERFACE, 'State'])) as string;
}

/** Waits (30 s at most) until the job is neither running nor waiting; returns its final state. */
export function waitJob(machine: NspawnMachine, job: string): Promise<string> {
  return waitFor(`${job} to finish`, async () => {
    const s = await jobState(machine, job);
    return s === 'running' || s === 'waiting' ? undefined : s;
  });
}

export interface MachineStoreImage {
  Id: string;
  RepoTags?: string[] | null;
}

/** `GET /images/json` of the Podman service on `socket` inside the machine. */
export async function storeImages(
  machine: NspawnMachine,
  socket = MACHINE_PODMAN_SOCKET,
): Promise<MachineStoreImage[]> {
  const out = await machine.check(['curl', '-sSf', '--unix-socket', socket, 'http://d/v1.41/images/json']);
  return JSON.parse(out) as MachineStoreImage[];
}
