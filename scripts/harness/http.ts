// Minimal HTTP client for the harness (node:http, no pooling unless an agent is given): readiness
// probes over TCP or a unix socket, and the registry API calls of oci-push.ts.
import type { Agent, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Server } from 'node:net';
import { request } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequest {
  method?: string;
  /** `http://host:port/path` for TCP; for a unix socket give socketPath and a bare path. */
  url: string;
  socketPath?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  agent?: Agent;
  timeoutMs?: number;
}

export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = req.socketPath ? new URL(req.url, 'http://localhost') : new URL(req.url);
    const r = request(
      {
        method: req.method ?? 'GET',
        ...(req.socketPath
          ? { socketPath: req.socketPath }
          : { host: target.hostname, port: Number(target.port) || 80 }),
        path: target.pathname + target.search,
        headers: {
          ...(req.body !== undefined ? { 'content-length': Buffer.byteLength(req.body) } : {}),
          ...req.headers,
        },
        agent: req.agent ?? false,
        timeout: req.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    r.on('timeout', () => r.destroy(new Error(`${req.method ?? 'GET'} ${req.url}: timed out`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Starts `server` on 127.0.0.1 on a free port; `what` names it in the error when that fails. */
export async function listenOnLoopback(
  server: Server,
  what: string,
): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error(`${what}: no TCP address`);
  return { host: `127.0.0.1:${address.port}`, port: address.port };
}
