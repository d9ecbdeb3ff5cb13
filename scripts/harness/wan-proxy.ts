// A network emulator at the TCP level: a proxy on 127.0.0.1 that makes a loopback service look as if
// it were across a WAN. Every connection gets
//   - a one-way delay in each direction (RTT = 2 × oneWayMs). The kernel completes the client's
//     handshake with the proxy at once, so the proxy charges it instead: nothing the client sends
//     reaches the service before accept + RTT (the SYN/SYN-ACK) + one-way delay, which is when the
//     first request would arrive across a real link; every later piece pays one one-way delay each way,
//     so each HTTP round trip costs one RTT and a new connection's first one two;
//   - a bandwidth cap per connection and per direction, and one for the whole link (shared by all its
//     connections, per direction: a full-duplex link). Both are token buckets; writes are paced in
//     slices of at most SLICE bytes, each sent when both buckets allow, then delivered one one-way
//     delay later (FIFO per direction, so the byte order holds).
// Back-pressure: a direction stops reading its source while more than HIGH_WATER bytes wait.
// Used by bench:pull (cold-pull-20-wan) and checked by test/integration/wan-proxy.test.ts.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './http.js';

export interface WanOptions {
  /** One-way delay in each direction, ms (RTT = 2 ×). */
  oneWayMs: number;
  /** Cap per connection and direction, bits/s; 0 or undefined: none. */
  connBitsPerSec?: number;
  /** Cap of the whole link per direction (all connections together), bits/s; 0 or undefined: none. */
  linkBitsPerSec?: number;
}

export interface WanProxy {
  /** `127.0.0.1:PORT`: use it as the host in references or URLs. */
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

const SLICE = 16 * 1024;
const HIGH_WATER = 256 * 1024;

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Tokens are bytes; `reserve(n)` takes n at once (the balance may go negative) and says how long until
 * the balance is back at zero, i.e. when those bytes have left at `rate`. The balance refills up to
 * `burst`, so a late timer does not cost throughput, and a quiet bucket sends at most `burst` at once.
 */
export class TokenBucket {
  private tokens: number;
  private last = nowMs();
  private readonly bytesPerMs: number;

  constructor(
    bitsPerSec: number,
    private readonly burst = Math.max(SLICE, bitsPerSec / 8 / 1000),
  ) {
    this.bytesPerMs = bitsPerSec / 8 / 1000;
    this.tokens = burst;
  }

  /** Takes `n` bytes; returns the ms until they have been sent (0: now). */
  reserve(n: number): number {
    const t = nowMs();
    this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.bytesPerMs);
    this.last = t;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : -this.tokens / this.bytesPerMs;
  }
}

/** One direction of one connection: a FIFO of pieces, paced by the buckets, delivered `delayMs` later. */
class Direction {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private busy = false;
  private ended = false;
  private closed = false;
  /** Pieces in flight, in order, each with the time it arrives (ms, nowMs()); null: the end. */
  private readonly flight: { at: number; piece: Buffer | null }[] = [];
  private flightTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly delayMs: number,
    private readonly buckets: TokenBucket[],
    /** Nothing leaves before this time (ms, nowMs()): the emulated handshake. */
    private readonly notBefore: number,
  ) {
    from.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i += SLICE) this.queue.push(chunk.subarray(i, i + SLICE));
      this.queued += chunk.length;
      if (this.queued > HIGH_WATER) from.pause();
      this.pump();
    });
    from.on('end', () => {
      this.ended = true;
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.flightTimer);
  }

  private pump(): void {
    if (this.busy || this.closed) return;
    const wait = this.notBefore - nowMs();
    if (wait > 0) return this.pause(wait);
    const piece = this.queue.shift();
    if (piece === undefined) {
      if (this.ended) {
        this.ended = false;
        this.send(null, 0);
      }
      return;
    }
    this.queued -= piece.length;
    if (this.queued <= HIGH_WATER / 2 && this.from.isPaused()) this.from.resume();
    // The piece has left when every bucket has let it through; it arrives one delay later.
    const sent = Math.max(0, ...this.buckets.map((b) => b.reserve(piece.length)));
    this.send(piece, sent);
    if (sent >= 1) this.pause(sent);
    else this.pump();
  }

  private pause(ms: number): void {
    this.busy = true;
    setTimeout(() => {
      this.busy = false;
      this.pump();
    }, ms);
  }

  /**
   * Puts a piece in flight. Arrival times come from the clock, not from timer order (a timer armed in
   * an I/O callback starts from the loop's cached time and may fire before an earlier one), and one
   * timer delivers the pieces in the order they were sent.
   */
  private send(piece: Buffer | null, sentInMs: number): void {
    const last = this.flight.at(-1)?.at ?? 0;
    this.flight.push({ at: Math.max(last, nowMs() + sentInMs + this.delayMs), piece });
    if (this.flight.length === 1) this.arm();
  }

  private arm(): void {
    const head = this.flight[0];
    if (head === undefined || this.closed) return;
    this.flightTimer = setTimeout(() => this.deliver(), Math.max(0, head.at - nowMs()));
  }

  private deliver(): void {
    const t = nowMs();
    while (this.flight.length > 0 && (this.flight[0]?.at ?? Infinity) <= t + 0.5) {
      const { piece } = this.flight.shift() as { piece: Buffer | null };
      if (this.closed || this.to.destroyed || this.to.writableEnded) continue;
      if (piece === null) this.to.end();
      else this.to.write(piece);
    }
    this.arm();
  }
}

export async function startWanProxy(
  target: { host: string; port: number },
  opts: WanOptions,
): Promise<WanProxy> {
  const d = opts.oneWayMs;
  const link = opts.linkBitsPerSec
    ? { up: new TokenBucket(opts.linkBitsPerSec), down: new TokenBucket(opts.linkBitsPerSec) }
    : undefined;
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    connections += 1;
    const accepted = nowMs();
    const upstream = connect({ port: target.port, host: target.host, allowHalfOpen: true });
    const perConn = (): TokenBucket[] => (opts.connBitsPerSec ? [new TokenBucket(opts.connBitsPerSec)] : []);
    // Client → service: the handshake's RTT first; service → client: the service cannot answer
    // what has not arrived, so its own order keeps it behind.
    const up = new Direction(
      client,
      upstream,
      d,
      [...perConn(), ...(link ? [link.up] : [])],
      accepted + 2 * d,
    );
    const down = new Direction(upstream, client, d, [...perConn(), ...(link ? [link.down] : [])], accepted);
    const teardown = (): void => {
      up.close();
      down.close();
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      // Each half ends through its Direction, after what it carried has arrived; a reset ends both.
      s.on('close', () => sockets.delete(s));
      s.on('error', teardown);
    }
    client.resume();
  });
  const address = await listenOnLoopback(server, 'WAN proxy');
  return {
    host: address.host,
    port: address.port,
    get connections() {
      return connections;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Options from the environment with `prefix` (e.g. BENCH_WAN_): RTT_MS, CONN_MBIT, LINK_MBIT. */
export function wanOptionsFromEnv(
  prefix: string,
  defaults: { rttMs: number; connMbit: number; linkMbit: number },
): WanOptions & { rttMs: number; connMbit: number; linkMbit: number } {
  const num = (name: string, fallback: number): number => {
    const raw = process.env[`${prefix}${name}`];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${prefix}${name}=${raw}: not a number ≥ 0`);
    return n;
  };
  const rttMs = num('RTT_MS', defaults.rttMs);
  const connMbit = num('CONN_MBIT', defaults.connMbit);
  const linkMbit = num('LINK_MBIT', defaults.linkMbit);
  return {
    rttMs,
    connMbit,
    linkMbit,
    oneWayMs: rttMs / 2,
    connBitsPerSec: connMbit * 1e6,
    linkBitsPerSec: linkMbit * 1e6,
  };
}
