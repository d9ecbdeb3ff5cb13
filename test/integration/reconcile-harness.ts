// Helpers for the reconcile engine's integration tests: a deployment root with bound .image files,
// a Config pointing at the sandbox's Podman service, one reconcile run through the real
// createRunDeps + runReconcile with its log lines captured, and the store as the podman CLI (not our
// client) lists it.
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { PodmanCli, RegistryCredentials, RegistryRequest } from '../../scripts/harness/index.js';
import { defaultConfig, type Config } from '../../src/config/index.js';
import { createRunDeps } from '../../src/reconcile/deps.js';
import { Job, type JobSnapshot, type ReconcileOptions } from '../../src/reconcile/job.js';
import { runReconcile, type RunDeps } from '../../src/reconcile/run.js';
import { createLogger } from '../../src/systemd/log.js';

export const UNIT_DIR = 'usr/share/containers/systemd';
export const BOUND_DIR = 'usr/lib/bootc/bound-images.d';

/** One Quadlet file of a root, bound (a link in bound-images.d) unless `bound` is false. */
export interface UnitFile {
  /** File name, e.g. `web.image`. */
  name: string;
  content: string;
  bound?: boolean;
}

/** A `.image` file binding `image`, with `AuthFile=` when given. */
export function imageUnit(name: string, image: string, authFile?: string): UnitFile {
  const auth = authFile ? `AuthFile=${authFile}\n` : '';
  return { name: `${name}.image`, content: `[Image]\nImage=${image}\n${auth}` };
}

/** Writes the unit files under usr/share/containers/systemd and their links (absolute, in-root). */
export async function writeRoot(root: string, units: UnitFile[]): Promise<void> {
  await mkdir(join(root, UNIT_DIR), { recursive: true });
  await mkdir(join(root, BOUND_DIR), { recursive: true });
  for (const u of units) {
    await writeFile(join(root, UNIT_DIR, u.name), u.content);
    if (u.bound !== false) await symlink(`/${UNIT_DIR}/${u.name}`, join(root, BOUND_DIR, u.name));
  }
}

/** Removes the bound-images.d link of one unit (the file stays, as after an upgrade that unbinds it). */
export function unbind(root: string, name: string): Promise<void> {
  return rm(join(root, BOUND_DIR, name));
}

/** Writes a file inside a root (root-relative path), creating parents. */
export async function writeInRoot(root: string, path: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}

/** A containers-auth.json granting `creds` on `host`. */
export function authJson(host: string, creds: RegistryCredentials): string {
  const auth = Buffer.from(`${creds.user}:${creds.password}`).toString('base64');
  return JSON.stringify({ auths: { [host]: { auth } } });
}

export interface TestConfigOptions {
  storePath: string;
  socketPath: string;
  roots: string[];
  /** The global auth file; default a path that does not exist (no credentials, as in bootc). */
  authFile: string;
  concurrency?: number;
  retries?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
}

/** defaultConfig() with the sandbox's store and socket, the given roots and short retry delays. */
export function testConfig(o: TestConfigOptions): Config {
  const c = defaultConfig();
  c.storage.path = o.storePath;
  c.storage.podmanSocket = o.socketPath;
  c.discovery.roots = o.roots;
  c.pull.authFiles = [o.authFile];
  c.pull.concurrency = o.concurrency ?? 3;
  c.pull.retries = o.retries ?? 2;
  c.pull.retryDelayMs = o.retryDelayMs ?? 50;
  c.pull.timeoutMs = o.timeoutMs ?? 60_000;
  return c;
}

export interface ReconcileRun {
  job: Job;
  snap: JobSnapshot;
  /** Log lines as the stderr sink writes them (`<N>message key=value …`). */
  log: string[];
}

let nextJobId = 1;

/** A job whose run is started by the caller (e.g. to watch or cancel it); see reconcile(). */
export function newJob(options: Partial<ReconcileOptions> = {}): Job {
  return new Job(
    nextJobId++,
    { extraRoots: [], pullPolicy: 'missing', dryRun: false, gc: true, ...options },
    0,
  );
}

/** Runs `job` (default: a new one) to its end with the real dependencies built from `config`. */
/**
 * One reconcile with the real dependencies on `config`; `reuse` keeps one set of them across calls,
 * as the daemon does (its store listing is kept between runs while the store is unchanged).
 */
export async function reconcile(
  config: Config,
  job: Job = newJob(),
  reuse?: { deps?: RunDeps },
): Promise<ReconcileRun> {
  const log: string[] = [];
  let partial = '';
  const stderr = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      log.push(...lines);
      done();
    },
  });
  const logger = createLogger({ sink: 'stderr', stderr, minPriority: 'debug' });
  const deps = reuse?.deps ?? createRunDeps({ config, logger });
  if (reuse !== undefined) reuse.deps = deps;
  await runReconcile(job, { ...deps, logger });
  return { job, snap: job.snapshot(), log };
}

/** One image as `podman images --format json` lists it: the store seen without our client. */
export interface ListedImage {
  id: string;
  names: string[];
  digests: string[];
}

interface PodmanImageJson {
  Id?: unknown;
  Names?: unknown;
  RepoDigests?: unknown;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The store listing by the podman CLI on the same --root. */
export async function listStore(cli: PodmanCli): Promise<ListedImage[]> {
  const { stdout } = await cli.podman(['images', '--format', 'json']);
  const parsed: unknown = JSON.parse(stdout || '[]');
  if (!Array.isArray(parsed)) throw new Error(`podman images --format json: not an array: ${stdout}`);
  return (parsed as PodmanImageJson[])
    .map((i) => ({
      id: typeof i.Id === 'string' ? i.Id : '',
      names: strings(i.Names).sort(),
      digests: strings(i.RepoDigests).sort(),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Every tag name in the store, sorted. */
export async function storeNames(cli: PodmanCli): Promise<string[]> {
  return (await listStore(cli)).flatMap((i) => i.names).sort();
}

/** Requests the registry logs from now on: call the returned function to get them. */
export async function requestsFrom(registry: {
  requests(): Promise<RegistryRequest[]>;
}): Promise<() => Promise<RegistryRequest[]>> {
  const mark = (await registry.requests()).length;
  return async () => (await registry.requests()).slice(mark);
}

/** Manifest and blob fetches (GET/HEAD) among `requests`: what a pull costs the registry. */
export function pullRequests(requests: readonly RegistryRequest[]): RegistryRequest[] {
  return requests.filter(
    (r) => (r.method === 'GET' || r.method === 'HEAD') && /\/(manifests|blobs)\//.test(r.path),
  );
}
