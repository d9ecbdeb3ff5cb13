// The WAN emulator (scripts/harness/wan-proxy.ts) shows the figures it is configured with: an RTT probe
// (a new connection's first round trip costs two RTTs, the handshake's and the request's, and each later
// one one RTT), and bulk transfers at the per-connection and the link cap. Bounds are ratios with
// headroom for a loaded machine: timers fire late, never early, so lower bounds are tight and upper
// bounds generous.
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../../scripts/harness/http.js';
import { startWanProxy, type WanProxy } from '../../scripts/harness/wan-proxy.js';

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function serve(onConnection: (s: Socket) => void): Promise<{ port: number }> {
  const server: Server = createServer(onConnection);
  const { port } = await listenOnLoopback(server, 'test server');
  stops.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { port };
}

async function proxy(port: number, opts: Parameters<typeof startWanProxy>[1]): Promise<WanProxy> {
  const p = await startWanProxy({ host: '127.0.0.1', port }, opts);
  stops.push(() => p.stop());
  return p;
}

/** Writes `line`, resolves when the echo of the same number of bytes has come back. */
function roundTrip(s: Socket, line: string): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const onData = (b: Buffer): void => {
      got += b.length;
      if (got >= line.length) {
        s.off('data', onData);
        resolve();
      }
    };
    s.on('data', onData);
    s.write(line);
  });
}

/** Connects through the proxy and reads until the server ends; ms from connect() to the last byte. */
function download(port: number): Promise<{ bytes: number; ms: number; data: Buffer }> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    let bytes = 0;
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1');
    s.on('data', (b: Buffer) => {
      bytes += b.length;
      chunks.push(b);
    });
    s.on('end', () => resolve({ bytes, ms: nowMs() - t0, data: Buffer.concat(chunks) }));
    s.on('error', reject);
  });
}

/** Random bytes the sender writes to every connection, in 64 KiB writes. */
const payload = randomBytes(4 * 1024 * 1024);

function sender(bytes: number): (s: Socket) => void {
  return (s) => {
    let at = 0;
    const more = (): void => {
      while (at < bytes) {
        const piece = payload.subarray(at, Math.min(bytes, at + 64 * 1024));
        at += piece.length;
        if (!s.write(piece)) return void s.once('drain', more);
      }
      s.end();
    };
    more();
  };
}

describe('WAN proxy', () => {
  it('charges the handshake and every round trip the configured RTT', async () => {
    const echo = await serve((s) => s.pipe(s));
    const rtt = 60;
    const p = await proxy(echo.port, { oneWayMs: rtt / 2 });
    const t0 = nowMs();
    const s = connect(p.port, '127.0.0.1');
    stops.push(async () => void s.destroy());
    await roundTrip(s, 'first\n');
    const first = nowMs() - t0;
    const later: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = nowMs();
      await roundTrip(s, `ping ${i}\n`);
      later.push(nowMs() - t);
    }
    later.sort((a, b) => a - b);
    const median = later[2] as number;
    process.stderr.write(
      `  wan-proxy RTT ${rtt} ms: first ${first.toFixed(1)} ms, later ${later.map((x) => x.toFixed(1)).join(' ')} ms\n`,
    );
    // Handshake + request: 2 RTT; each later one: 1 RTT. Never less; at most +50 % on a loaded machine.
    expect(first).toBeGreaterThanOrEqual(2 * rtt - 1);
    expect(first).toBeLessThan(3 * rtt);
    expect(median).toBeGreaterThanOrEqual(rtt - 1);
    expect(median).toBeLessThan(1.5 * rtt);
  });

  it('caps one connection at its bandwidth', async () => {
    const bytes = 4 * 1024 * 1024;
    const src = await serve(sender(bytes));
    const bits = 32e6; // 4 MB/s: ~1.05 s for 4 MiB
    const p = await proxy(src.port, { oneWayMs: 5, connBitsPerSec: bits });
    const { bytes: got, ms, data } = await download(p.port);
    expect(got).toBe(bytes);
    expect(data.equals(payload.subarray(0, bytes))).toBe(true);
    const rate = (got * 8) / (ms / 1000);
    process.stderr.write(
      `  wan-proxy 1 connection at ${bits / 1e6} Mbit/s: ${(rate / 1e6).toFixed(1)} Mbit/s\n`,
    );
    expect(rate / bits).toBeLessThanOrEqual(1.05);
    expect(rate / bits).toBeGreaterThan(0.6);
  });

  it('caps all connections together at the link bandwidth', async () => {
    const each = 2 * 1024 * 1024;
    const src = await serve(sender(each));
    const conn = 32e6;
    const link = 48e6; // 4 connections at 32 Mbit/s would be 128 Mbit/s: the link's 48 holds them
    const p = await proxy(src.port, { oneWayMs: 5, connBitsPerSec: conn, linkBitsPerSec: link });
    const t0 = nowMs();
    const results = await Promise.all([0, 1, 2, 3].map(() => download(p.port)));
    const ms = nowMs() - t0;
    const total = results.reduce((a, r) => a + r.bytes, 0);
    expect(total).toBe(4 * each);
    for (const r of results) expect(r.data.equals(payload.subarray(0, each))).toBe(true);
    const rate = (total * 8) / (ms / 1000);
    process.stderr.write(
      `  wan-proxy 4 connections on a ${link / 1e6} Mbit/s link: ${(rate / 1e6).toFixed(1)} Mbit/s\n`,
    );
    expect(rate / link).toBeLessThanOrEqual(1.05);
    expect(rate / link).toBeGreaterThan(0.6);
    expect(p.connections).toBe(4);
  });
});
