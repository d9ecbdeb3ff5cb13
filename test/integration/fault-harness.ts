// Fault injection for the fault suite (test/integration/fault-*.test.ts), around the real registry,
// Podman and dbus-daemon of scripts/harness:
//  - a registry front on a fixed loopback port that passes requests through to the real registry
//    (optionally throttled, counting the bytes it forwards) or answers with a fault — an HTTP status
//    or no answer at all — and switches between those while Podman keeps the same references;
//  - a Podman API service that can be SIGKILLed and started again on the same socket and store, with
//    its store optionally on a small tmpfs (a disk that fills up);
// The daemon's side (Upgrade, a job's properties, "is it still there") is in fault-bus.ts.
import { execFileSync } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from '../../scripts/harness/cleanup.js';
import { httpRequest, listenOnLoopback } from '../../scripts/harness/http.js';
import { makePodmanCli, type PodmanCli } from '../../scripts/harness/podman-service.js';
import type { ServiceProcess } from '../../scripts/harness/proc.js';
import { spawnService, waitUntil } from '../../scripts/harness/proc.js';

// ---------------------------------------------------------------------------------------------
// The registry front

export type FrontMode =
  | { pass: string; bytesPerSecond?: number }
  | {
      status: number;
      body?: string;
      headers?: Record<string, string>;
      /** Answer only this many requests (/v2/ pings not counted) with the status, then switch to `then`. */
      times?: number;
      then?: FrontMode;
    }
  | 'hang';

export interface FrontRequest {
  method: string;
  path: string;
  /** performance.now() at arrival. */
  at: number;
  /** The mode's label when the request arrived: `pass`, `hang` or the status. */
  answeredWith: string;
}

export interface RegistryFront {
  /** `127.0.0.1:PORT`, the registry part of the references pulled through the front. */
  readonly host: string;
  readonly requests: FrontRequest[];
  /** Bytes of response bodies passed through from the registry so far. */
  readonly bytesForwarded: number;
  setMode(mode: FrontMode): void;
  /**
   * Cuts every response being passed through, at once. Call it right after killing the registry:
   * the throttle keeps the registry's last megabytes in the front's socket buffers, so without it
   * Podman would see the connection end only once those trickled through.
   */
  dropInFlight(): void;
  /** Manifest GETs (not /v2/ pings, not blobs) seen since index `from` of `requests`. */
  manifestGets(from?: number): FrontRequest[];
  stop(): Promise<void>;
}

const FAULT_BODIES: Record<number, string> = {
  429: '{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}',
};

function label(mode: FrontMode): string {
  if (mode === 'hang') return 'hang';
  return 'pass' in mode ? 'pass' : String(mode.status);
}

/** The front counts a status mode's `times` down: keep the caller's object as it was given. */
function ownCopy(mode: FrontMode): FrontMode {
  return typeof mode === 'object' && 'status' in mode ? { ...mode } : mode;
}

/** Waits `ms`. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the front on 127.0.0.1 (a free port). Start it before the Podman service and pass its host
 * in `insecureRegistries`: Podman reads registries.conf once.
 */
export async function startRegistryFront(initial: FrontMode): Promise<RegistryFront> {
  let mode = ownCopy(initial);
  let bytes = 0;
  const requests: FrontRequest[] = [];
  const open = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const inFlight = new Set<() => void>();

  const passThrough = (req: IncomingMessage, res: ServerResponse, target: string, rate?: number): void => {
    const [host, port] = target.split(':');
    const up = request(
      { host, port: Number(port), method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        let queue = Promise.resolve();
        upRes.on('data', (chunk: Buffer) => {
          if (rate === undefined) {
            bytes += chunk.length;
            res.write(chunk);
            return;
          }
          upRes.pause();
          queue = queue.then(async () => {
            for (let off = 0; off < chunk.length && !res.destroyed; off += 8 * 1024) {
              const piece = chunk.subarray(off, off + 8 * 1024);
              await pause((piece.length / rate) * 1000);
              bytes += piece.length;
              res.write(piece);
            }
            upRes.resume();
          });
        });
        upRes.on('end', () => void queue.then(() => res.end()));
        // The registry died mid-answer (killed): the client sees its connection drop, as it would
        // without the front.
        upRes.on('aborted', () => res.destroy());
        upRes.on('error', () => res.destroy());
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.socket?.destroy();
      else res.destroy();
    });
    const drop = (): void => {
      up.destroy();
      res.destroy();
    };
    inFlight.add(drop);
    res.on('close', () => inFlight.delete(drop));
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      at: performance.now(),
      answeredWith: label(mode),
    });
    open.add(res);
    res.on('close', () => open.delete(res));
    if (mode !== 'hang' && 'pass' in mode) {
      passThrough(req, res, mode.pass, mode.bytesPerSecond);
      return;
    }
    if (req.url === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (mode === 'hang') return; // accepted, never answered
    const fault = mode;
    if (fault.times !== undefined && fault.then !== undefined && --fault.times <= 0) mode = fault.then;
    const body = fault.body ?? FAULT_BODIES[fault.status] ?? `fault ${fault.status}`;
    res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(body);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const address = await listenOnLoopback(server, 'registry front');
  let stopped = false;
  return {
    host: address.host,
    requests,
    get bytesForwarded() {
      return bytes;
    },
    setMode(m) {
      mode = ownCopy(m);
    },
    dropInFlight() {
      for (const drop of [...inFlight]) drop();
    },
    manifestGets(from = 0) {
      return requests.slice(from).filter((r) => r.method === 'GET' && /\/manifests\//.test(r.path));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const res of open) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A Podman API service that can be killed and started again

export interface RestartablePodman extends PodmanCli {
  readonly socketPath: string;
  readonly storePath: string;
  /** The running service's pid (null while it is down). */
  readonly pid: number | null;
  /** SIGKILLs the service (the socket file stays, as after a crash). */
  kill(): Promise<void>;
  /** Starts the service (again) on the same socket, store and config; waits for /_ping. */
  start(): Promise<void>;
  /** Stops the service, unmounts what is left (the tmpfs store too), removes the temp dir. */
  stop(): Promise<void>;
}

export interface RestartablePodmanOptions {
  insecureRegistries: string[];
  /** Put the store on a tmpfs of this many MiB (a small disk). */
  tmpfsStoreMiB?: number;
  /** Start the service right away (default true). */
  start?: boolean;
}

/** The private configuration of scripts/harness/podman-service.ts, with a handle on the process. */
export async function startRestartablePodman(o: RestartablePodmanOptions): Promise<RestartablePodman> {
  const dir = makeTempDir('fpod');
  const cli = await makePodmanCli(dir, join(dir, 'store'), 'overlay', o.insecureRegistries);
  const { root: storePath, env, globalArgs } = cli;
  const socketPath = join(dir, 'podman.sock');
  if (o.tmpfsStoreMiB !== undefined) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${o.tmpfsStoreMiB}m,mode=0700`, 'tmpfs', storePath]);
  }
  let proc: ServiceProcess | null = null;
  let stopped = false;
  const log = join(dir, 'service.log');

  const handle: RestartablePodman = {
    ...cli,
    socketPath,
    storePath,
    get pid() {
      return proc && !proc.hasExited() ? proc.pid : null;
    },
    async kill() {
      await proc?.stop('SIGKILL');
      proc = null;
    },
    async start() {
      if (proc && !proc.hasExited()) return;
      const p = spawnService(
        'podman',
        [...globalArgs, 'system', 'service', '--time=0', `unix://${socketPath}`],
        { env, stdoutFile: log, stderrFile: log },
      );
      proc = p;
      await waitUntil(
        `podman system service on ${socketPath}`,
        async () => (await httpRequest({ url: '/_ping', socketPath, timeoutMs: 2000 })).status === 200,
        { giveUp: () => (p.hasExited() ? `exited (see ${log})` : undefined) },
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc?.stop('SIGTERM', 5000);
      releaseDir(dir);
    },
  };
  if (o.start !== false) {
    try {
      await handle.start();
    } catch (e) {
      await handle.stop();
      throw e;
    }
  }
  return handle;
}
