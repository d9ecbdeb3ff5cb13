// Errors of the store client. StoreError: the Podman API could not do what was asked (which socket,
// which call, HTTP status or errno). PullError: one image could not be pulled, with a kind the
// reconciler's retry policy reads (only 'transient' is retried). Podman reports registry failures as
// text inside a 200 progress stream, so classifyPullFailure() reads that text; the patterns are the
// messages Podman 4.3 really prints (pinned in errors.test.ts and test/integration/store-pull-errors.test.ts).
// No error built here ever carries credentials: callers pass Podman's message, never a request.
import { errnoCode, messageOf } from '../errors.js';

export type PullErrorKind = 'transient' | 'unauthorized' | 'not-found' | 'forbidden' | 'cancelled' | 'other';

export interface StoreErrorOptions {
  /** The Podman API socket the call went to. */
  socketPath?: string;
  /** HTTP status behind the failure, when known (see PullError for pulls). */
  status?: number;
  /** errno code of a failed connection (ENOENT, ECONNREFUSED, …). */
  code?: string;
  /**
   * Set when the API socket itself could not be used (not there, refusing, silent): what is wrong
   * with it, naming it (`Podman API socket S refuses connections …`). The reconcile's result leads
   * with it.
   */
  socketFailure?: string;
  cause?: unknown;
}

export class StoreError extends Error {
  override name = 'StoreError';
  // `declare`: an option not given leaves no own property (not even `undefined`).
  declare readonly socketPath?: string;
  declare readonly status?: number;
  declare readonly code?: string;
  declare readonly socketFailure?: string;

  constructor(message: string, opts: StoreErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.socketPath !== undefined) this.socketPath = opts.socketPath;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.code !== undefined) this.code = opts.code;
    if (opts.socketFailure !== undefined) this.socketFailure = opts.socketFailure;
  }
}

export interface PullErrorOptions extends StoreErrorOptions {
  reference: string;
  kind: PullErrorKind;
  /** Registry host[:port] the reference points at. */
  registry?: string;
}

export class PullError extends StoreError {
  override name = 'PullError';
  readonly reference: string;
  readonly kind: PullErrorKind;
  declare readonly registry?: string;

  /** `status`: the registry's HTTP status when Podman's message reveals it, else the API's. */
  constructor(message: string, opts: PullErrorOptions) {
    super(message, opts);
    this.reference = opts.reference;
    this.kind = opts.kind;
    if (opts.registry !== undefined) this.registry = opts.registry;
  }
}

export interface PullFailureClass {
  kind: PullErrorKind;
  status?: number;
}

/** "received unexpected HTTP status: 503 Service Unavailable", "StatusCode: 429, …" */
const STATUS_IN_TEXT = /(?:HTTP status:?|StatusCode:)\s*(\d{3})\b/i;

const KEYWORD_RULES: { kind: PullErrorKind; status?: number; pattern: RegExp }[] = [
  {
    kind: 'unauthorized',
    status: 401,
    pattern: /\bunauthorized\b|authentication required|incorrect username or password/i,
  },
  { kind: 'forbidden', status: 403, pattern: /\bdenied\b|\bforbidden\b/i },
  {
    kind: 'not-found',
    status: 404,
    pattern:
      /manifest unknown|name unknown|repository name not known|\bnot found\b|no image found in (?:manifest list|image index) for architecture/i,
  },
  { kind: 'transient', status: 429, pattern: /toomanyrequests|too many requests/i },
  {
    kind: 'transient',
    pattern:
      /connection refused|connection reset|broken pipe|i\/o timeout|timed? ?out|deadline exceeded|unexpected EOF|:\s*EOF\s*$|no such host|network is unreachable|no route to host|temporary failure|server misbehaving/i,
  },
];

function kindOfStatus(status: number): PullErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'other';
}

/** Classifies the failure text Podman put in a pull's progress stream. */
export function classifyPullFailure(message: string): PullFailureClass {
  const m = STATUS_IN_TEXT.exec(message);
  if (m?.[1]) {
    const status = Number(m[1]);
    return { kind: kindOfStatus(status), status };
  }
  for (const rule of KEYWORD_RULES) {
    if (rule.pattern.test(message))
      return rule.status === undefined ? { kind: rule.kind } : { kind: rule.kind, status: rule.status };
  }
  return { kind: 'other' };
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'does not exist (is the Podman service running?)',
  ECONNREFUSED: 'refuses connections (is the Podman service running?)',
  EACCES: 'is not accessible (permission denied)',
  ENOTSOCK: 'is not a socket',
  ECONNRESET: 'closed the connection',
  EPIPE: 'closed the connection',
};

/**
 * A failure to reach the API at all, naming the socket. With an errno code the socket itself is the
 * problem (`socketFailure`); without one (e.g. a hang-up mid-answer) it is only this call's failure.
 */
export function connectionError(socketPath: string, what: string, err: unknown): StoreError {
  const code = errnoCode(err);
  const known = code === undefined ? undefined : ERRNO_TEXT[code];
  const problem = `Podman API socket ${socketPath} ${known ?? `failed: ${messageOf(err)}`}`;
  return new StoreError(`${what}: ${problem}`, {
    socketPath,
    ...(code !== undefined ? { code, socketFailure: problem } : {}),
    cause: err,
  });
}
