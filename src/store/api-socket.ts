// ApiSocket: HTTP requests to the Podman API service on its unix socket, with node:http alone. It
// replaces dockerode's modem, which loaded ssh2, gRPC and protobuf support the daemon never used and
// held ~26 MB of the running daemon's memory (docs/performance.md, "Start and memory"). It keeps
// the modem's conventions the client relies on: a path ending in `?` takes the query (object values
// as JSON), success is a status listed in `statusCodes`, any other status rejects with an error
// carrying `statusCode`, the parsed body as `json` and the message "(HTTP code N) unexpected - MSG ".
import { request, type IncomingMessage } from 'node:http';
import { stringify } from 'node:querystring';
import type { Readable } from 'node:stream';
import { isRecord } from '../errors.js';

export interface DialOptions {
  path: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Query parameters, when `path` ends with `?`; object values are sent as JSON. */
  options?: Record<string, unknown>;
  /** Sent as X-Registry-Auth: base64 with the URL alphabet, padding kept (Podman needs the `=`). */
  authconfig?: object;
  /** Resolve with the response stream (on a listed status) instead of its parsed body. */
  isStream?: boolean;
  abortSignal?: AbortSignal;
  statusCodes: Record<number, true>;
}

export interface ApiError extends Error {
  statusCode?: number;
  json?: unknown;
  code?: string;
}

/** The request path with its query, as dockerode's modem builds it. */
export function requestPath(path: string, options?: Record<string, unknown>): string {
  if (!path.endsWith('?')) return path;
  const query: Record<string, string | number | boolean | readonly unknown[]> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value === undefined) continue;
    query[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? JSON.stringify(value)
        : (value as string | number | boolean | readonly unknown[]);
  }
  const qs = stringify(query as Parameters<typeof stringify>[0]);
  return qs === '' ? path.slice(0, -1) : path + qs;
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

export class ApiSocket {
  constructor(readonly socketPath: string) {}

  /** GET /_ping's Libpod-Api-Version header (undefined when the service sends none). */
  apiVersion(signal?: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        path: '/_ping',
        method: 'GET',
        ...(signal ? { signal } : {}),
      });
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        res.resume();
        const v = res.headers['libpod-api-version'];
        resolve(res.statusCode === 200 && typeof v === 'string' ? v : undefined);
      });
      req.end();
    });
  }

  /** One request: the parsed body, or (isStream) the response stream, on a listed status. */
  dial(o: DialOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (o.authconfig)
        headers['X-Registry-Auth'] = Buffer.from(JSON.stringify(o.authconfig))
          .toString('base64')
          .replace(/\+/g, '-')
          .replace(/\//g, '_');
      const req = request({
        socketPath: this.socketPath,
        path: requestPath(o.path, o.options),
        method: o.method,
        headers,
        ...(o.abortSignal ? { signal: o.abortSignal } : {}),
      });
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (o.statusCodes[status] && o.isStream) return resolve(res as Readable);
        readAll(res).then((text) => {
          const json = parseBody(text);
          if (o.statusCodes[status]) return resolve(json);
          const message = isRecord(json) && typeof json.message === 'string' ? json.message : text;
          const err: ApiError = new Error(`(HTTP code ${status}) unexpected - ${message} `);
          err.statusCode = status;
          err.json = json;
          reject(err);
        }, reject);
      });
      req.end();
    });
  }
}
