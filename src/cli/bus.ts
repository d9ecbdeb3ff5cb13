// The client's D-Bus plumbing: one connection to the system bus (connectBus(), shared with the daemon),
// method calls with a deadline, property reads, match rules and signals, and the translation of bus
// failures into exit codes: no bus, no daemon, access denied → 3; the daemon's InvalidArgs → 2.
// dbus-next is loaded here, on first use, so `--help` and usage errors stay fast.
import type { Message } from 'dbus-next';
import type { BusConnection } from '../contract/connect-bus.js';
import { messageOf } from '../errors.js';
import { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';
import { BUS_NAME, PROPERTIES_INTERFACE } from '../contract/index.js';

/** How long one method call may wait for its answer (libdbus' default). */
export const CALL_TIMEOUT_MS = 25_000;
/**
 * Upgrade and Cancel from a terminal may wait for a polkit password prompt (as systemctl does when
 * its stdin is a terminal): the call carries ALLOW_INTERACTIVE_AUTHORIZATION and may take this long.
 */
export const INTERACTIVE_CALL_TIMEOUT_MS = 300_000;
const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
const AUTHORIZED_MEMBERS = new Set(['Upgrade', 'Cancel']);
const METHOD_RETURN = 2;
const ERROR = 3;
const SIGNAL = 4;

export interface BusClient {
  /** Calls a method of org.bootc.BoundImages; resolves with the reply body. */
  call(path: string, iface: string, member: string, signature?: string, body?: unknown[]): Promise<unknown[]>;
  /** Properties.GetAll of one interface, as dbus-next unmarshals a{sv}. */
  getAll(path: string, iface: string): Promise<unknown>;
  /**
   * GetAll whose answer is handed to `apply` in bus order: after every signal the daemon sent before
   * it and before any signal it sent after, which a promise continuation cannot promise.
   */
  getAllInOrder(path: string, iface: string, apply: (props: unknown) => void): Promise<void>;
  /** A D-Bus variant for an a{sv} argument. */
  variant(signature: string, value: unknown): unknown;
  /** Adds a match rule on the bus (signals matching it are delivered to onSignal handlers). */
  addMatch(rule: string): Promise<void>;
  /** Every signal received; returns a function that removes the handler. */
  onSignal(handler: (msg: Message) => void): () => void;
  /** The connection broke (at most once); returns a function that removes the handler. */
  onLost(handler: (err: CliError) => void): () => void;
  close(): void;
}

function errorName(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

const UNREACHABLE_ERRORS = new Set([
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.Timeout',
  'org.freedesktop.DBus.Error.TimedOut',
  'org.freedesktop.DBus.Error.Disconnected',
  'org.freedesktop.DBus.Error.NoServer',
  'org.freedesktop.DBus.Error.NoNetwork',
]);

/** A D-Bus error reply (or any failure of a call) as the CliError the command ends with. */
export function callError(err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  const name = errorName(err);
  const text = messageOf(err);
  const detail = name ? `${text} (${name})` : text;
  let code: ExitCodeValue = ExitCode.Failed;
  let reason = `${what} failed: ${detail}`;
  if (name === 'org.freedesktop.DBus.Error.AccessDenied') {
    code = ExitCode.Unreachable;
    reason = `${what}: access denied: ${text}`;
  } else if (
    name !== undefined &&
    (UNREACHABLE_ERRORS.has(name) || name.startsWith('org.freedesktop.DBus.Error.Spawn'))
  ) {
    code = ExitCode.Unreachable;
    reason = `bound-imaged is not reachable on the system bus: ${detail}`;
  } else if (name === 'org.freedesktop.DBus.Error.InvalidArgs') {
    code = ExitCode.Usage;
    reason = `${what}: ${text}`;
  }
  return new CliError(code, reason, name);
}

function unreachable(address: string, why: string): CliError {
  return new CliError(ExitCode.Unreachable, `cannot connect to the system bus at ${address}: ${why}`);
}

/** Connects to the system bus; rejects with a CliError (exit 3) when it cannot. */
export async function connectSystemBus(): Promise<BusClient> {
  const [{ default: dbus }, { connectBus, BusConnectError, systemBusAddress }] = await Promise.all([
    import('dbus-next'),
    import('../contract/connect-bus.js'),
  ]);
  let connection: BusConnection;
  try {
    connection = await connectBus();
  } catch (err) {
    throw err instanceof BusConnectError
      ? new CliError(ExitCode.Unreachable, err.message)
      : unreachable(systemBusAddress(), messageOf(err));
  }
  const { bus, address } = connection;
  const lostHandlers = new Set<(err: CliError) => void>();
  let lost: CliError | null = null;
  connection.onLost((err) => {
    lost = err.closedByBus
      ? new CliError(ExitCode.Unreachable, 'the system bus closed the connection')
      : unreachable(address, err.message);
    for (const h of [...lostHandlers]) h(lost);
  });
  // Replies to deliver in bus order (see getAllInOrder), by the serial of the call.
  const inOrder = new Map<number, (msg: Message) => void>();
  bus.on('message', (msg: Message) => {
    if (msg.type !== METHOD_RETURN) return;
    const serial = Number(msg.replySerial);
    const deliver = inOrder.get(serial);
    if (deliver) {
      inOrder.delete(serial);
      deliver(msg);
    }
  });

  function close(): void {
    lostHandlers.clear();
    connection.close();
  }

  function rawCall(msg: Message, what: string, timeoutMs = CALL_TIMEOUT_MS): Promise<Message> {
    if (lost) return Promise.reject(lost);
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          done(
            new CliError(
              ExitCode.Unreachable,
              `${what}: no answer from bound-imaged within ${timeoutMs / 1000} s`,
            ),
          ),
        timeoutMs,
      );
      const onLost = (err: CliError): void => done(err);
      const done = (err: CliError | null, reply?: Message): void => {
        clearTimeout(timer);
        lostHandlers.delete(onLost);
        if (err) reject(err);
        else resolve(reply as Message);
      };
      lostHandlers.add(onLost);
      bus.call(msg).then(
        (reply) => {
          if (reply && reply.type === METHOD_RETURN) done(null, reply);
          else if (reply && reply.type === ERROR)
            done(callError({ type: reply.errorName, message: String(reply.body?.[0] ?? '') }, what));
          else done(new CliError(ExitCode.Unreachable, `${what}: no reply`));
        },
        (err: unknown) => done(callError(err, what)),
      );
    });
  }

  const getAllMessage = (path: string, iface: string): Message =>
    new dbus.Message({
      destination: BUS_NAME,
      path,
      interface: PROPERTIES_INTERFACE,
      member: 'GetAll',
      signature: 's',
      body: [iface],
    });

  return {
    async call(path, iface, member, signature, body) {
      const interactive = AUTHORIZED_MEMBERS.has(member) && process.stdin.isTTY === true;
      const msg = new dbus.Message({
        destination: BUS_NAME,
        path,
        interface: iface,
        member,
        ...(signature ? { signature, body: body ?? [] } : {}),
        ...(interactive ? { flags: ALLOW_INTERACTIVE_AUTHORIZATION } : {}),
      });
      const reply = await rawCall(msg, member, interactive ? INTERACTIVE_CALL_TIMEOUT_MS : CALL_TIMEOUT_MS);
      return Array.isArray(reply.body) ? reply.body : [];
    },
    async getAll(path, iface) {
      const msg = getAllMessage(path, iface);
      const reply = await rawCall(msg, `reading the properties of ${path}`);
      return reply.body?.[0];
    },
    async getAllInOrder(path, iface, apply) {
      const msg = getAllMessage(path, iface);
      const serial = bus.newSerial();
      msg.serial = serial;
      let applyError: unknown = null;
      inOrder.set(serial, (reply) => {
        try {
          apply(reply.body?.[0]);
        } catch (err) {
          applyError = err;
        }
      });
      try {
        await rawCall(msg, `reading the properties of ${path}`);
      } finally {
        inOrder.delete(serial);
      }
      if (applyError !== null) throw applyError;
    },
    variant(signature, value) {
      return new dbus.Variant(signature, value);
    },
    async addMatch(rule) {
      const msg = new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member: 'AddMatch',
        signature: 's',
        body: [rule],
      });
      await rawCall(msg, 'subscribing to signals');
    },
    onSignal(handler) {
      const listener = (msg: Message): void => {
        if (msg.type === SIGNAL) handler(msg);
      };
      bus.on('message', listener);
      return () => bus.off('message', listener);
    },
    onLost(handler) {
      if (lost) {
        const err = lost;
        queueMicrotask(() => handler(err));
        return () => undefined;
      }
      lostHandlers.add(handler);
      return () => lostHandlers.delete(handler);
    },
    close,
  };
}
