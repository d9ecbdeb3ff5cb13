// Registry credentials from containers-auth.json(5) files: `{"auths": {"<key>": {"auth": base64(user:pass)}}}`
// (also `username`/`password` and `identitytoken`, as Docker's config.json writes them).
// Keys are a registry host[:port] or a namespace under it (`quay.io/team/app`); the most specific key
// wins (`host/ns/repo`, then `host/ns`, then `host`), as in containers/image. Keys with a scheme
// (`https://index.docker.io/v1/`) reduce to their host; docker.io, index.docker.io and
// registry-1.docker.io are one registry. Credential helpers (`credHelpers`) are not run.
// Secrecy: a password or token is held in a non-enumerable property, no error message names one, and
// each is handed to the credential guard (systemd/held-secrets.ts), which masks it in every log line.
// The global pull secret is the first existing file of a search list (`findGlobalAuthFile()`): by
// default ostree-ext's (`[pull] auth-file`, config/schema.ts OSTREE_AUTH_FILES), so the daemon uses the
// file `bootc upgrade` uses for the host image.
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { errnoCode, isRecord } from '../errors.js';
import { parseNormalizedReference } from '../reference/reference.js';
import { holdSecret } from '../systemd/held-secrets.js';

export interface RegistryCredential {
  /** The auth file key it came from, normalized (e.g. `127.0.0.1:5000`, `docker.io`). */
  readonly registry: string;
  readonly username: string;
  /** Non-enumerable: absent from JSON.stringify, util.inspect and object spreads. */
  readonly password: string;
  /** Non-enumerable, like password. */
  readonly identityToken?: string;
}

export interface AuthFile {
  readonly path: string;
  /** Normalized key → credential; null for an entry that carries none (e.g. a credential-helper stub). */
  readonly entries: ReadonlyMap<string, RegistryCredential | null>;
}

export class AuthFileError extends Error {
  override name = 'AuthFileError';
  readonly file: string;
  declare readonly key?: string;

  constructor(file: string, message: string, key?: string) {
    super(
      key === undefined
        ? `auth file ${file}: ${message}`
        : `auth file ${file}, registry "${key}": ${message}`,
    );
    this.file = file;
    if (key !== undefined) this.key = key;
  }
}

const DOCKER_HUB = 'docker.io';

function normalizeRegistry(host: string): string {
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

/** `https://index.docker.io/v1/` → `docker.io`; `quay.io/team` stays. */
export function normalizeAuthKey(key: string): string {
  const stripped = key.replace(/^https?:\/\//, '');
  const hostOnly = stripped !== key ? (stripped.split('/')[0] ?? '') : stripped;
  const [host = '', ...rest] = hostOnly.split('/');
  return [normalizeRegistry(host), ...rest].filter((p) => p !== '').join('/');
}

/**
 * Registry host[:port] and repository path of an image reference (docker.io for a bare name), as
 * reference/reference.ts parses it; throws its ReferenceError for an invalid one.
 */
export function splitReference(reference: string): { registry: string; repository: string } {
  const ref = parseNormalizedReference(reference);
  return { registry: normalizeRegistry(ref.domain), repository: ref.path };
}

function secret<T extends object>(target: T, key: string, value: string): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false });
}

function makeCredential(
  registry: string,
  username: string,
  password: string,
  identityToken?: string,
): RegistryCredential {
  holdSecret(password, username);
  if (identityToken !== undefined) holdSecret(identityToken);
  const cred = { registry, username } as RegistryCredential;
  secret(cred, 'password', password);
  if (identityToken !== undefined) secret(cred, 'identityToken', identityToken);
  // Even util.inspect(cred, { showHidden: true }) prints no secret.
  Object.defineProperty(cred, inspect.custom, {
    value: () =>
      `RegistryCredential { registry: '${registry}', username: '${username}', password: <redacted> }`,
    enumerable: false,
  });
  return Object.freeze(cred);
}

function parseEntry(file: string, key: string, value: unknown): RegistryCredential | null {
  if (!isRecord(value)) throw new AuthFileError(file, 'entry is not a JSON object', key);
  const registry = normalizeAuthKey(key);
  const token = value.identitytoken;
  if (token !== undefined && typeof token !== 'string')
    throw new AuthFileError(file, '"identitytoken" is not a string', key);
  if (value.auth !== undefined && value.auth !== '') {
    if (typeof value.auth !== 'string') throw new AuthFileError(file, '"auth" is not a string', key);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value.auth))
      throw new AuthFileError(file, '"auth" is not base64', key);
    const decoded = Buffer.from(value.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new AuthFileError(file, '"auth" does not decode to user:password', key);
    return makeCredential(registry, decoded.slice(0, colon), decoded.slice(colon + 1), token || undefined);
  }
  const { username, password } = value;
  if (username !== undefined || password !== undefined) {
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new AuthFileError(file, '"username" and "password" must both be strings', key);
    }
    return makeCredential(registry, username, password, token || undefined);
  }
  if (token) return makeCredential(registry, '', '', token);
  return null;
}

/** Parses the text of an auth file (`file` is only used in error messages). */
export function parseAuthFile(file: string, text: string): AuthFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Not V8's message: it quotes the text around the fault, which may be a secret.
    throw new AuthFileError(file, 'not valid JSON');
  }
  if (!isRecord(doc)) throw new AuthFileError(file, 'not a JSON object');
  const entries = new Map<string, RegistryCredential | null>();
  if (doc.auths === undefined) return { path: file, entries };
  if (!isRecord(doc.auths)) throw new AuthFileError(file, '"auths" is not a JSON object');
  // Exact keys first, so `docker.io` beats an alias such as `https://index.docker.io/v1/`.
  const keys = Object.keys(doc.auths).sort(
    (a, b) => Number(normalizeAuthKey(a) !== a) - Number(normalizeAuthKey(b) !== b),
  );
  for (const key of keys) {
    const cred = parseEntry(file, key, doc.auths[key]);
    const normalized = normalizeAuthKey(key);
    if (!entries.has(normalized)) entries.set(normalized, cred);
  }
  return { path: file, entries };
}

/**
 * Reads one auth file. With `optional`, a file that does not exist means "no credentials"; without,
 * it is an error (an image's `AuthFile=`). Any other failure, and a malformed file, is an error.
 */
export async function loadAuthFile(path: string, opts: { optional: boolean }): Promise<AuthFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' && opts.optional) return { path, entries: new Map() };
    throw new AuthFileError(
      path,
      code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(e)})`,
    );
  }
  return parseAuthFile(path, text);
}

/**
 * The first of `candidates` that exists, read as an auth file: a path that does not exist (ENOENT,
 * or ENOTDIR for a file where a directory should be) is passed over, as ostree-ext does; any other
 * failure and a malformed file are errors, not a reason to try the next one (a secret that cannot be
 * read must not silently turn into anonymous pulls). None existing: no credentials.
 */
export async function findGlobalAuthFile(candidates: readonly string[]): Promise<AuthFile> {
  for (const path of candidates) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new AuthFileError(path, `cannot be read (${code ?? String(e)})`);
    }
    return parseAuthFile(path, text);
  }
  return { path: candidates.join(', '), entries: new Map() };
}

/** The credential for `reference`: the most specific matching key wins; undefined when none. */
export function credentialFor(authFile: AuthFile, reference: string): RegistryCredential | undefined {
  const { registry, repository } = splitReference(reference);
  const parts = repository.split('/');
  for (let n = parts.length; n >= 0; n--) {
    const key = [registry, ...parts.slice(0, n)].join('/');
    if (authFile.entries.has(key)) return authFile.entries.get(key) ?? undefined;
  }
  return undefined;
}

/** The X-Registry-Auth payload (sent base64url-encoded as the header value, store/api-socket.ts). */
export function registryAuthConfig(cred: RegistryCredential): Record<string, string> {
  return {
    username: cred.username,
    password: cred.password,
    serveraddress: cred.registry.split('/')[0] ?? cred.registry,
    ...(cred.identityToken ? { identitytoken: cred.identityToken } : {}),
  };
}
