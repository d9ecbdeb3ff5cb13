// ApiSocket against a node:http server on a unix socket in a temp dir: the request it sends (path,
// query, X-Registry-Auth) and the modem conventions the client relies on (listed status → body or
// stream; any other → error with statusCode, json and "(HTTP code N) unexpected - MSG ").
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSocket, requestPath, type ApiError } from './api-socket.js';

let dir: string;
let server: Server;
let seen: IncomingMessage[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-socket-'));
  server = createServer((req, res) => {
    seen.push(req);
    if (req.url?.startsWith('/missing')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ cause: 'no such image', message: 'image not known', response: 404 }));
    }
    if (req.url?.startsWith('/text')) {
      res.writeHead(500);
      return res.end('plain failure');
    }
    if (req.url?.startsWith('/stream')) {
      res.writeHead(200);
      res.write('{"status":"a"}\n');
      return void setTimeout(() => res.end('{"status":"b"}\n'), 20);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url: req.url, method: req.method }));
  });
  await new Promise<void>((r) => server.listen(join(dir, 'api.sock'), () => r()));
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('requestPath', () => {
  it('adds the query only to a path ending in ?, objects as JSON', () => {
    expect(requestPath('/images/json')).toBe('/images/json');
    expect(requestPath('/images/x?', { force: true })).toBe('/images/x?force=true');
    expect(requestPath('/v4.0.0/libpod/images/json?', { filters: { id: ['abc'] } })).toBe(
      `/v4.0.0/libpod/images/json?filters=${encodeURIComponent('{"id":["abc"]}')}`,
    );
    expect(requestPath('/images/x?', {})).toBe('/images/x');
  });
});

describe('ApiSocket', () => {
  const api = (): ApiSocket => new ApiSocket(join(dir, 'api.sock'));

  it('answers the parsed body of a listed status, and sends the method and auth header', async () => {
    seen = [];
    const body = await api().dial({
      path: '/images/create?',
      method: 'POST',
      options: { fromImage: 'r/x:1' },
      authconfig: { username: 'u', password: 'p+/' },
      statusCodes: { 200: true },
    });
    expect(body).toEqual({ url: '/images/create?fromImage=r%2Fx%3A1', method: 'POST' });
    const auth = seen[0]?.headers['x-registry-auth'];
    expect(typeof auth).toBe('string');
    expect(auth).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect((auth as string).length % 4).toBe(0); // padded: Podman's decoder needs it
    expect(JSON.parse(Buffer.from(auth as string, 'base64url').toString())).toEqual({
      username: 'u',
      password: 'p+/',
    });
  });

  it('rejects another status with statusCode, json and the modem message', async () => {
    const err = (await api()
      .dial({ path: '/missing', method: 'GET', statusCodes: { 200: true } })
      .catch((e: unknown) => e)) as ApiError;
    expect(err.statusCode).toBe(404);
    expect(err.json).toMatchObject({ message: 'image not known' });
    expect(err.message).toBe('(HTTP code 404) unexpected - image not known ');
    const text = (await api()
      .dial({ path: '/text', method: 'GET', statusCodes: { 200: true } })
      .catch((e: unknown) => e)) as ApiError;
    expect(text.statusCode).toBe(500);
    expect(text.message).toBe('(HTTP code 500) unexpected - plain failure ');
  });

  it('hands over the response stream when asked', async () => {
    const res = (await api().dial({
      path: '/stream',
      method: 'POST',
      isStream: true,
      statusCodes: { 200: true },
    })) as Readable;
    let text = '';
    for await (const chunk of res) text += String(chunk);
    expect(text).toBe('{"status":"a"}\n{"status":"b"}\n');
  });

  it('fails with the errno of a missing socket, and on abort', async () => {
    const missing = (await new ApiSocket(join(dir, 'none.sock'))
      .dial({ path: '/x', method: 'GET', statusCodes: { 200: true } })
      .catch((e: unknown) => e)) as ApiError;
    expect(missing.code).toBe('ENOENT');
    const aborted = (await api()
      .dial({ path: '/x', method: 'GET', statusCodes: { 200: true }, abortSignal: AbortSignal.abort() })
      .catch((e: unknown) => e)) as Error;
    expect(aborted.name).toBe('AbortError');
  });
});
