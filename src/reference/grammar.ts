// The component grammar of an image reference, after the distribution project's reference grammar
// (github.com/distribution/reference, regexp.go): registry domain, repository path, tag, digest.
// Each check returns the reason a component is invalid, or undefined when it is valid. Every
// pattern is anchored and free of nested ambiguous repetition, so matching stays linear.

/** Longest repository path (the part after the registry) that distribution accepts. */
export const MAX_PATH_LENGTH = 255;
/** Longest tag: one leading word character and up to 127 more. */
export const MAX_TAG_LENGTH = 128;

/** Hex length of each digest algorithm we accept (the OCI image-spec's registered ones). */
export const DIGEST_HEX_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);

/** A bare image ID: distribution refuses it as a name because it is ambiguous with an ID. */
export const IDENTIFIER = /^[a-f0-9]{64}$/;

// path-component := [a-z0-9]+ ( separator [a-z0-9]+ )* ; separator := [._] | __ | -+
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
const DOMAIN_COMPONENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
// IPv6 between brackets: hex digits and colons only (no zone, no embedded IPv4), as distribution.
const IPV6_BODY = /^[a-fA-F0-9:]+$/;
const PORT = /^:[0-9]+$/;
// tag := [\w][\w.-]{0,127}  (\w is ASCII [A-Za-z0-9_] in both Go's RE2 and JavaScript)
const TAG = /^\w[\w.-]*$/;
// digest-algorithm := component ( [-_+.] component )* ; component := [A-Za-z][A-Za-z0-9]*
const DIGEST_ALGORITHM = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/;
const HEX = /^[0-9a-fA-F]+$/;

/** Why `domain` is not a valid `host[:port]`, or undefined. */
export function domainProblem(domain: string): string | undefined {
  let port: string;
  if (domain.startsWith('[')) {
    const close = domain.indexOf(']');
    if (close < 0) return 'IPv6 address is missing its closing "]"';
    const address = domain.slice(1, close);
    if (address.includes('%')) return 'IPv6 zone identifiers (such as "%eth0") are not allowed';
    if (!IPV6_BODY.test(address)) {
      return 'IPv6 address may contain only hexadecimal digits and ":" (no embedded IPv4 form)';
    }
    port = domain.slice(close + 1);
    if (port !== '' && !port.startsWith(':')) return `unexpected "${port}" after "]" (expected ":port")`;
  } else {
    const colon = domain.indexOf(':');
    if (colon >= 0 && domain.indexOf(':', colon + 1) >= 0) {
      return 'an IPv6 address must be enclosed in square brackets (e.g. "[::1]:5000")';
    }
    const host = colon < 0 ? domain : domain.slice(0, colon);
    port = colon < 0 ? '' : domain.slice(colon);
    if (host === '') return 'host name is empty';
    for (const label of host.split('.')) {
      if (label === '')
        return 'host name has an empty label (two dots in a row, or a leading or trailing dot)';
      if (!DOMAIN_COMPONENT.test(label)) {
        return `host label "${label}" may contain only letters, digits and inner hyphens`;
      }
    }
  }
  if (port === ':') return 'port after ":" is empty';
  if (port !== '' && !PORT.test(port)) return `port "${port.slice(1)}" must be a decimal number`;
  return undefined;
}

/** Why one `/`-separated component of a repository path is invalid, or undefined. */
export function pathComponentProblem(component: string): string | undefined {
  if (component === '') {
    return 'repository path has an empty component (a "//", or a leading or trailing "/")';
  }
  if (PATH_COMPONENT.test(component)) return undefined;
  if (component !== component.toLowerCase()) return 'repository name must be lowercase';
  const where = `path component "${component}"`;
  if (/[^a-z0-9._-]/.test(component)) {
    return `${where} may contain only lowercase letters, digits and the separators ".", "_", "__", "-"`;
  }
  if (!/^[a-z0-9]/.test(component) || !/[a-z0-9]$/.test(component)) {
    return `${where} must start and end with a lowercase letter or digit`;
  }
  return `${where} joins letters and digits with an invalid separator (allowed: one ".", one or two "_", any number of "-")`;
}

/** Why a repository path (`library/nginx`) is invalid, or undefined. */
export function pathProblem(path: string): string | undefined {
  for (const component of path.split('/')) {
    const problem = pathComponentProblem(component);
    if (problem) return problem;
  }
  if (path.length > MAX_PATH_LENGTH) {
    return `repository name must not be more than ${MAX_PATH_LENGTH} characters (got ${path.length})`;
  }
  return undefined;
}

/** Why a tag is invalid, or undefined. */
export function tagProblem(tag: string): string | undefined {
  if (tag === '') return 'tag after ":" is empty';
  if (tag.length > MAX_TAG_LENGTH) {
    return `tag must not be more than ${MAX_TAG_LENGTH} characters (got ${tag.length})`;
  }
  if (TAG.test(tag)) return undefined;
  if (tag.startsWith('.') || tag.startsWith('-')) return `tag "${tag}" must not start with "." or "-"`;
  return `tag "${tag}" may contain only ASCII letters, digits, "_", "." and "-"`;
}

/** Why a digest (`sha256:<hex>`) is invalid, or undefined. */
export function digestProblem(digest: string): string | undefined {
  if (digest === '') return 'digest after "@" is empty';
  const colon = digest.indexOf(':');
  if (colon < 0) return `digest "${digest}" must have the form "algorithm:hex"`;
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (!DIGEST_ALGORITHM.test(algorithm)) return `digest algorithm "${algorithm}" is malformed`;
  const length = DIGEST_HEX_LENGTHS.get(algorithm);
  if (length === undefined) {
    return `unsupported digest algorithm "${algorithm}" (supported: ${[...DIGEST_HEX_LENGTHS.keys()].join(', ')})`;
  }
  if (hex !== '' && !HEX.test(hex)) return `${algorithm} digest must be hexadecimal`;
  if (hex.length !== length) {
    return `${algorithm} digest must have ${length} hexadecimal characters (got ${hex.length})`;
  }
  if (hex !== hex.toLowerCase()) return `${algorithm} digest must be lowercase hexadecimal`;
  return undefined;
}
