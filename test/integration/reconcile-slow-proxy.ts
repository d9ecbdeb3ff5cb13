// A slowing HTTP proxy in front of the real registry, to see a reconcile from the registry's side
// with millisecond timestamps (the registry's own access log has one-second resolution): every
// request is forwarded unchanged, manifest requests after `manifestDelayMs` (or held until
// release() when `holdManifests` is set). Each request is recorded with its repository and the time
// it arrived and was answered, so a test can compute how many pulls overlapped. Start it before the
// Podman service (pass its `host` in `insecureRegistries`), then point it at the registry.
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback } from '../../scripts/harness/http.js';

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The repository (`/v2/<repo>/manifests|blobs/…`), null for `/v2/` pings. */
  repo: string | null;
  manifest: boolean;
  /** performance.now() when the request arrived, and when its answer was sent or the request died. */
  start: number;
  end: number | null;
  status: number | null;
}

export interface SlowProxy {
  readonly host: string;
  readonly log: ProxiedRequest[];
  /** Where requests go, e.g. `127.0.0.1:5000`. */
  setTarget(host: string): void;
  manifestDelayMs: number;
  /** While true, manifest requests wait for release() (or stop()). */
  holdManifests: boolean;
  /** Lets every held manifest request through. */
  release(): void;
  /** Resolves when at least `n` manifest requests have arrived since the log was last cleared. */
  waitForManifests(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const PATH = /^\/v2\/(.+)\/(manifests|blobs)\/[^/]+$/;

export async function startSlowProxy(): Promise<SlowProxy> {
  let target = '';
  const log: ProxiedRequest[] = [];
  const held = new Set<() => void>();
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse, entry: ProxiedRequest): void => {
    const [host, port] = target.split(':');
    const up = request(
      { host, port: Number(port), method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        entry.status = upRes.statusCode ?? 502;
        res.writeHead(entry.status, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const m = PATH.exec((req.url ?? '').split('?')[0] ?? '');
    const entry: ProxiedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      repo: m?.[1] ?? null,
      manifest: m?.[2] === 'manifests',
      start: performance.now(),
      end: null,
      status: null,
    };
    log.push(entry);
    res.on('close', () => (entry.end = performance.now()));
    if (!entry.manifest) return forward(req, res, entry);
    const go = (): void => {
      held.delete(go);
      if (!res.destroyed) forward(req, res, entry);
    };
    if (proxy.holdManifests) held.add(go);
    else if (proxy.manifestDelayMs > 0) setTimeout(go, proxy.manifestDelayMs);
    else go();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const address = await listenOnLoopback(server, 'slow proxy');
  let stopped = false;

  const proxy: SlowProxy = {
    host: address.host,
    log,
    manifestDelayMs: 0,
    holdManifests: false,
    setTarget(host) {
      target = host;
    },
    release() {
      for (const go of [...held]) go();
    },
    async waitForManifests(n, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (log.filter((r) => r.manifest).length < n) {
        if (Date.now() > until) throw new Error(`slow proxy: fewer than ${n} manifest requests`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      held.clear();
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** Per repository, the span from its first request's arrival to its last answer: one pull, seen by the registry. */
export function pullSpans(
  log: readonly Pick<ProxiedRequest, 'repo' | 'start' | 'end'>[],
): { repo: string; start: number; end: number }[] {
  const spans = new Map<string, { repo: string; start: number; end: number }>();
  for (const r of log) {
    if (r.repo === null) continue;
    const end = r.end ?? Number.POSITIVE_INFINITY;
    const s = spans.get(r.repo);
    if (s) {
      s.start = Math.min(s.start, r.start);
      s.end = Math.max(s.end, end);
    } else spans.set(r.repo, { repo: r.repo, start: r.start, end });
  }
  return [...spans.values()];
}

/** The largest number of spans open at one instant. */
export function maxOverlap(spans: readonly { start: number; end: number }[]): number {
  // Ends sort before starts at the same instant: touching spans do not overlap.
  const events = spans.flatMap((s) => [
    { t: s.start, d: 1 },
    { t: s.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const e of events) {
    open += e.d;
    max = Math.max(max, open);
  }
  return max;
}
