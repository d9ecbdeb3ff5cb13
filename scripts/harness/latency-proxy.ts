// A TCP pass-through proxy on 127.0.0.1 that holds every piece a client sends for a fixed delay
// before passing it on: each HTTP request to the registry behind it then takes that much longer, as
// it does against a registry across a network. Used by bench:pull (BENCH_REGISTRY_DELAY_MS) to show
// how the two ways of pulling compare once the registry is not on loopback.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './http.js';

export interface LatencyProxy {
  /** `127.0.0.1:PORT`: use it as the registry host in references. */
  host: string;
  stop(): Promise<void>;
}

export async function startLatencyProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // Equal delays keep the order of the pieces.
    client.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!upstream.destroyed) upstream.write(chunk);
      }, delayMs);
    });
    client.on('end', () => setTimeout(() => upstream.end(), delayMs));
    upstream.pipe(client);
  });
  const address = await listenOnLoopback(server, 'latency proxy');
  return {
    host: address.host,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
