// A fake registry for fault injection only: it answers `GET /v2/` with 200 (so Podman gets past the
// ping) and every other request with a chosen failure — an HTTP status the real registry cannot be
// made to send (403, 429, 5xx), or no answer at all ('hang'). Start it before the Podman service and
// pass its `host` in `insecureRegistries`: Podman reads registries.conf only at start.
import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { listenOnLoopback } from './http.js';

export type Fault = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

export interface FaultRegistry {
  readonly host: string;
  readonly port: number;
  /** Changes the failure for the requests that follow. */
  setFault(fault: Fault): void;
  /** Requests seen (method and path), /v2/ pings included. */
  readonly requests: { method: string; path: string }[];
  stop(): Promise<void>;
}

const ERROR_BODIES: Record<number, string> = {
  401: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
  403: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
  404: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
  429: '{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}',
};

export async function startFaultRegistry(initial: Fault = { status: 503 }): Promise<FaultRegistry> {
  let fault = initial;
  const requests: { method: string; path: string }[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    if (req.url === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (fault === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    const body = fault.body ?? ERROR_BODIES[fault.status] ?? `fault ${fault.status}`;
    res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(body);
  });
  const address = await listenOnLoopback(server, 'fault registry');
  let stopped = false;
  return {
    host: address.host,
    port: address.port,
    requests,
    setFault(f) {
      fault = f;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
