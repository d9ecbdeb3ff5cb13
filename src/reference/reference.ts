// Image reference parsing and normalization, as the distribution project's ParseNormalizedNamed
// (github.com/distribution/reference, normalize.go) does: a familiar name such as `nginx` becomes
// `docker.io/library/nginx:latest`. Owns the split of a reference into registry, repository path,
// tag and digest, the Docker Hub defaults, and the names a store may list an image under. The
// per-component grammar lives in grammar.ts. See docs/reference-grammar.md.
import {
  IDENTIFIER,
  digestProblem,
  domainProblem,
  pathProblem,
  pathComponentProblem,
  tagProblem,
} from './grammar.js';
import { clip } from '../clip.js';

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host and optional port: `docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/nginx`. */
  path: string;
  tag?: string;
  /** `algorithm:hex`, e.g. `sha256:<64 hex>`. */
  digest?: string;
  /** `${domain}/${path}`. */
  name: string;
}

/** An input that is not a valid image reference; the message says which input and why. */
export class ReferenceError extends Error {
  /** The input exactly as given. */
  readonly input: string;
  /** Why it is invalid, without the input (e.g. `repository name must be lowercase`). */
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`invalid reference ${quote(input)}: ${reason}`);
    this.name = 'ReferenceError';
    this.input = input;
    this.reason = reason;
  }
}

/** Docker Hub's canonical domain: what Podman stores (`docker.io/library/nginx:latest`). */
const DEFAULT_DOMAIN = 'docker.io';
/** The legacy "Docker Index" domain, rewritten to DEFAULT_DOMAIN. */
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** Namespace of Docker Hub's official images: `nginx` is `library/nginx`. */
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
/** The input as an error message shows it: clipped (the full input stays on `ReferenceError.input`). */
function quote(input: string): string {
  return JSON.stringify(clip(input));
}

/**
 * Parse a reference in familiar or full form and return it fully qualified: the Docker Hub domain
 * and `library/` namespace are filled in, `index.docker.io` becomes `docker.io`, and the tag
 * `latest` is added when neither a tag nor a digest is given. A tag and a digest together are both
 * kept. Throws ReferenceError saying why the input is invalid.
 */
export function parseNormalizedReference(input: string): ImageReference {
  if (typeof input !== 'string') {
    throw new ReferenceError(String(input), `expected a string, got ${typeof input}`);
  }
  const fail = (reason: string): never => {
    throw new ReferenceError(input, reason);
  };
  if (input === '') fail('reference is empty');
  if (input.trim() !== input) fail('reference must not have leading or trailing whitespace');
  if (IDENTIFIER.test(input)) {
    fail('cannot specify 64-byte hexadecimal strings as a repository name (ambiguous with an image ID)');
  }
  if (input.includes('://')) fail('a URL scheme such as "https://" is not part of an image reference');

  // name[:tag][@digest] — neither a tag nor a digest contains "/" or "@", so the digest starts at the
  // first "@" and the tag at the first ":" after the last "/" (a ":" before it is a registry port).
  const at = input.indexOf('@');
  const beforeDigest = at < 0 ? input : input.slice(0, at);
  const digest = at < 0 ? undefined : input.slice(at + 1);
  if (digest?.includes('@')) fail('reference contains more than one "@"');
  if (digest?.includes('/')) fail('"@" may only introduce the digest at the end (found "/" after it)');
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const name = colon < 0 ? beforeDigest : beforeDigest.slice(0, colon);
  const tag = colon < 0 ? undefined : beforeDigest.slice(colon + 1);

  if (name === '') fail('repository name is empty');
  if (lastSlash < 0 && name.startsWith('[')) {
    fail('a registry address must be followed by a repository path (e.g. "[::1]:5000/name")');
  }
  const { domain, path, uppercaseDomain } = splitDomain(name);
  const badDomain = domainProblem(domain);
  if (badDomain) {
    // A first component taken as a registry only because it has capitals (distribution's rule) that
    // is no valid host either: the user meant a repository name, and that must be lowercase.
    const meantAsPath = uppercaseDomain && !pathComponentProblem(domain.toLowerCase());
    fail(meantAsPath ? 'repository name must be lowercase' : `registry "${domain}": ${badDomain}`);
  }
  const badPath = pathProblem(path);
  if (badPath) fail(badPath);
  if (tag !== undefined) {
    const badTag = tagProblem(tag);
    if (badTag) fail(badTag);
  }
  if (digest !== undefined) {
    const badDigest = digestProblem(digest);
    if (badDigest) fail(badDigest);
  }

  return {
    domain,
    path,
    ...(tag !== undefined ? { tag } : digest === undefined ? { tag: DEFAULT_TAG } : {}),
    ...(digest !== undefined ? { digest } : {}),
    name: `${domain}/${path}`,
  };
}

/**
 * Split a repository name into registry and path the way distribution's splitDockerDomain does: the
 * first `/`-component is a registry when it is `localhost`, contains `.` or `:`, or has capitals;
 * otherwise the whole name is a Docker Hub path, and a one-component Hub path gets `library/`.
 */
function splitDomain(name: string): { domain: string; path: string; uppercaseDomain: boolean } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, path: OFFICIAL_REPO_PREFIX + name, uppercaseDomain: false };
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  let domain: string;
  let path: string;
  let uppercaseDomain = false;
  if (first === LEGACY_DEFAULT_DOMAIN) {
    [domain, path] = [DEFAULT_DOMAIN, rest];
  } else if (first === 'localhost' || first.includes('.') || first.includes(':')) {
    [domain, path] = [first, rest];
  } else if (first !== first.toLowerCase()) {
    [domain, path, uppercaseDomain] = [first, rest, true];
  } else {
    [domain, path] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path, uppercaseDomain };
}

/** `name[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.name}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The canonical string form of a reference: `nginx` → `docker.io/library/nginx:latest`. */
export function normalizeReference(input: string): string {
  return formatReference(parseNormalizedReference(input));
}

/**
 * The short name Docker shows, without tag or digest: `docker.io/library/nginx` → `nginx`,
 * `docker.io/user/app` → `user/app`; other registries keep their full name.
 */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return ref.name;
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** Every string under which a store may list this reference: the normalized name:tag, and name@digest when a digest is given. */
export function storeKeys(ref: ImageReference): string[] {
  const keys: string[] = [];
  if (ref.tag !== undefined) keys.push(`${ref.name}:${ref.tag}`);
  if (ref.digest !== undefined) keys.push(`${ref.name}@${ref.digest}`);
  if (keys.length === 0) keys.push(`${ref.name}:${DEFAULT_TAG}`);
  return keys;
}
