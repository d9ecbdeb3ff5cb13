// Connecting to the system bus, one way for the daemon and the client: the address given, else
// $DBUS_SYSTEM_BUS_ADDRESS, else the standard socket (read, never written); a deadline on the
// handshake; and one `lost` notice when an established connection breaks. dbus-next reports socket
// errors on the bus but not the end of its stream, so an established connection pings the bus now and
// then: once the stream has ended, the library answers that write with an error, which is the notice.
import dbus from 'dbus-next';
import { messageOf } from '../errors.js';

export const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/var/run/dbus/system_bus_socket';
/** How long connecting (socket, auth, Hello) may take. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** How often an established connection pings the bus to notice that it went away. */
export const LIVENESS_INTERVAL_MS = 1000;

/** Connecting failed; the message names the address and why. */
export class BusConnectError extends Error {
  override name = 'BusConnectError';
  constructor(
    readonly address: string,
    why: string,
  ) {
    super(`cannot connect to the system bus at ${address}: ${why}`);
  }
}

/** An established connection broke: the bus closed it, or its socket failed. */
export class BusLostError extends Error {
  override name = 'BusLostError';
  constructor(
    message: string,
    /** The bus ended the stream (rather than a socket error). */
    readonly closedByBus: boolean,
  ) {
    super(message);
  }
}

export interface BusConnection {
  readonly bus: dbus.MessageBus;
  readonly address: string;
  /** `handler` runs once when the connection breaks (at once if it already has); returns a remover. */
  onLost(handler: (err: BusLostError) => void): () => void;
  /** Disconnects (no `lost` notice follows); safe to call twice. */
  close(): void;
}

export interface ConnectOptions {
  /** Defaults to $DBUS_SYSTEM_BUS_ADDRESS, else the standard system bus socket. */
  address?: string;
  timeoutMs?: number;
  livenessMs?: number;
}

/** The system bus address this process uses when none is given. */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS_ADDRESS;
}

const PING = (): dbus.Message =>
  new dbus.Message({
    destination: 'org.freedesktop.DBus',
    path: '/org/freedesktop/DBus',
    interface: 'org.freedesktop.DBus.Peer',
    member: 'Ping',
  });

/** Connects to the system bus; rejects with a BusConnectError when it cannot. */
export async function connectBus(opts: ConnectOptions = {}): Promise<BusConnection> {
  const address = opts.address ?? systemBusAddress();
  const timeoutMs = opts.timeoutMs ?? CONNECT_TIMEOUT_MS;
  let bus: dbus.MessageBus;
  try {
    // sessionBus() is dbus-next's connect-to-this-address call (systemBus() reads only the environment).
    bus = dbus.sessionBus({ busAddress: address });
  } catch (err) {
    throw new BusConnectError(address, messageOf(err));
  }

  const handlers = new Set<(err: BusLostError) => void>();
  let lost: BusLostError | null = null;
  let closed = false;
  let pinger: NodeJS.Timeout | undefined = undefined;
  // True while a ping is written: the library reports a write to an ended stream at once, in the call.
  let pinging = false;
  const lose = (err: BusLostError): void => {
    if (lost || closed) return;
    lost = err;
    clearInterval(pinger);
    for (const h of [...handlers]) h(err);
  };
  bus.on('error', (err: unknown) =>
    lose(
      pinging
        ? new BusLostError('the bus closed the connection', true)
        : new BusLostError(messageOf(err), false),
    ),
  );

  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(pinger);
    handlers.clear();
    try {
      bus.disconnect();
    } catch {
      // already closed
    }
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      handlers.delete(finish);
      bus.off('connect', onConnect);
      if (err) reject(new BusConnectError(address, err.message));
      else resolve();
    };
    const onConnect = (): void => finish();
    handlers.add(finish);
    bus.once('connect', onConnect);
  }).catch((err: unknown) => {
    close();
    throw err;
  });

  pinger = setInterval(() => {
    // A reply or an error reply both mean the bus is there; a closed stream reports through 'error'.
    pinging = true;
    try {
      bus.call(PING()).catch(() => undefined);
    } finally {
      pinging = false;
    }
  }, opts.livenessMs ?? LIVENESS_INTERVAL_MS);
  // Not unref'd: like the socket it watches, it keeps the process alive until close(); once the bus
  // has closed the socket, it is what is left to notice that.

  return {
    bus,
    address,
    onLost(handler) {
      if (lost) {
        const err = lost;
        queueMicrotask(() => handler(err));
        return () => undefined;
      }
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    close,
  };
}
