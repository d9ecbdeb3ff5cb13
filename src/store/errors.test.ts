import { describe, expect, it } from 'vitest';
import { classifyPullFailure, connectionError, PullError, StoreError } from './errors.js';

// Failure texts as Podman 4.3.1 (containers/image 5.23.1) printed them in the pull stream on these
// machines, against docker-registry 2.8 and a fault-injecting server.
const REAL = {
  unauthorized:
    'initializing source docker://127.0.0.1:5125/sec:1: reading manifest 1 in 127.0.0.1:5125/sec: unauthorized: authentication required',
  manifestUnknown:
    'initializing source docker://127.0.0.1:5123/multi:nope: reading manifest nope in 127.0.0.1:5123/multi: manifest unknown: manifest unknown',
  refused:
    'initializing source docker://127.0.0.1:5124/multi:1: pinging container registry 127.0.0.1:5124: Get "http://127.0.0.1:5124/v2/": dial tcp 127.0.0.1:5124: connect: connection refused',
  denied: 'initializing source docker://127.0.0.1:5126/x:1: reading manifest 1 in 127.0.0.1:5126/x: denied',
  tooMany:
    'initializing source docker://127.0.0.1:5126/x:1: reading manifest 1 in 127.0.0.1:5126/x: StatusCode: 429, ',
  status500:
    'initializing source docker://127.0.0.1:5126/x:1: reading manifest 1 in 127.0.0.1:5126/x: received unexpected HTTP status: 500 Internal Server Error',
  status503:
    'initializing source docker://127.0.0.1:5126/x:1: reading manifest 1 in 127.0.0.1:5126/x: received unexpected HTTP status: 503 Service Unavailable',
  status404:
    'initializing source docker://127.0.0.1:5126/x:1: reading manifest 1 in 127.0.0.1:5126/x: StatusCode: 404, oops',
  noPlatform:
    'choosing an image from manifest list docker://127.0.0.1:40055/onlyamd:latest: no image found in image index for architecture s390x, variant "", OS linux',
  tlsToHttp:
    'initializing source docker://127.0.0.1:5126/x:1: pinging container registry 127.0.0.1:5126: Get "https://127.0.0.1:5126/v2/": tls: first record does not look like a TLS handshake',
};

describe('classifyPullFailure on real Podman messages', () => {
  it.each([
    ['unauthorized', REAL.unauthorized, 'unauthorized', 401],
    ['manifest unknown', REAL.manifestUnknown, 'not-found', 404],
    ['a 404 with a plain body', REAL.status404, 'not-found', 404],
    ['no image for the platform', REAL.noPlatform, 'not-found', 404],
    ['denied', REAL.denied, 'forbidden', 403],
    ['429', REAL.tooMany, 'transient', 429],
    ['500', REAL.status500, 'transient', 500],
    ['503', REAL.status503, 'transient', 503],
  ])('%s', (_, message, kind, status) => {
    expect(classifyPullFailure(message)).toEqual({ kind, status });
  });

  it('connection refused is transient, without a status', () => {
    expect(classifyPullFailure(REAL.refused)).toEqual({ kind: 'transient' });
  });

  it('TLS spoken to a plain-HTTP registry (a configuration error) is not retried', () => {
    expect(classifyPullFailure(REAL.tlsToHttp)).toEqual({ kind: 'other' });
  });
});

describe('classifyPullFailure on network failures', () => {
  it.each([
    'read tcp 127.0.0.1:4000->127.0.0.1:5000: read: connection reset by peer',
    'dial tcp: lookup registry.example.com: no such host',
    'dial tcp 10.0.0.1:443: i/o timeout',
    'net/http: TLS handshake timeout',
    'context deadline exceeded',
    'reading blob sha256:abc: unexpected EOF',
    'Get "https://r.example/v2/": EOF',
    'dial tcp 10.0.0.1:443: connect: network is unreachable',
    'toomanyrequests: You have reached your pull rate limit',
  ])('%s → transient', (message) => {
    expect(classifyPullFailure(message).kind).toBe('transient');
  });

  it('anything unknown is other', () => {
    expect(classifyPullFailure('invalid reference format')).toEqual({ kind: 'other' });
  });

  it('a status in the text wins over keywords', () => {
    // "not found" would say not-found, but the registry answered 502.
    expect(
      classifyPullFailure('received unexpected HTTP status: 502 Bad Gateway (upstream not found)'),
    ).toEqual({
      kind: 'transient',
      status: 502,
    });
  });
});

describe('error classes', () => {
  it('PullError is a StoreError with reference, kind, status and registry', () => {
    const e = new PullError('pull x failed', {
      reference: 'r/x:1',
      kind: 'not-found',
      status: 404,
      registry: 'r',
    });
    expect(e).toBeInstanceOf(StoreError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'PullError',
      reference: 'r/x:1',
      kind: 'not-found',
      status: 404,
      registry: 'r',
    });
  });

  it('a PullError made with only reference and kind has no status', () => {
    const e = new PullError('m', { reference: 'a', kind: 'transient' });
    expect('status' in e).toBe(false);
  });

  it('connectionError names the socket and explains the errno', () => {
    const err = Object.assign(new Error('connect ENOENT /run/x.sock'), { code: 'ENOENT' });
    const e = connectionError('/run/x.sock', 'GET /info', err);
    expect(e.message).toBe(
      'GET /info: Podman API socket /run/x.sock does not exist (is the Podman service running?)',
    );
    expect(e).toMatchObject({ socketPath: '/run/x.sock', code: 'ENOENT' });
    const refused = connectionError(
      '/run/x.sock',
      'GET /info',
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    );
    expect(refused.message).toMatch(/refuses connections/);
    expect(connectionError('/s', 'op', new Error('socket hang up')).message).toBe(
      'op: Podman API socket /s failed: socket hang up',
    );
  });

  it('connectionError flags the socket itself as the problem only when there is an errno', () => {
    const refused = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    expect(connectionError('/run/x.sock', 'pull a', refused).socketFailure).toBe(
      'Podman API socket /run/x.sock refuses connections (is the Podman service running?)',
    );
    expect('socketFailure' in connectionError('/s', 'op', new Error('socket hang up'))).toBe(false);
  });
});
