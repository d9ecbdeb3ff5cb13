// Every method call on our objects comes through here before dbus-next's own dispatch: Upgrade,
// ListBoundImages and Cancel (with the caller's UID, which dbus-next's Interface methods never see,
// and polkit's word for non-root callers: polkit.ts),
// Introspect (rendered from the contract, argument names included) and Properties.Set (refused:
// every property is read-only). Each call is checked in this order: signature, caller, arguments.
import dbus from 'dbus-next';
import type { ReconcileOptions } from '../reconcile/job.js';
import { QueueFullError } from '../reconcile/reconciler.js';
import {
  JOB_INTERFACE,
  JOB_SPEC,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  MANAGER_SPEC,
  jobIdOfPath,
  type InterfaceSpec,
} from '../contract/index.js';
import { DBusErrorName, ServiceError } from './errors.js';
import { renderIntrospection } from '../contract/introspection-xml.js';
import { Authorizer, PolkitAction, type PolkitActionId } from './polkit.js';
import { parseUpgradeOptions, shown } from './upgrade-options.js';
import { messageOf } from '../errors.js';

const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const PROPERTIES = 'org.freedesktop.DBus.Properties';

export type InventoryTuple = [reference: string, sourceFile: string, state: string, detail: string];
export type RootInventoryTuple = [root: string, ...InventoryTuple];

/** What the handler needs from the service; it holds no business rules itself. */
export interface MethodBackend {
  /** Starts or joins a reconcile; returns the job's object path. Throws QueueFullError or a ServiceError. */
  upgrade(options: ReconcileOptions, uid: number): string;
  listBoundImages(): Promise<InventoryTuple[]>;
  listBoundImagesByRoot(): Promise<RootInventoryTuple[]>;
  /** The state of an exported job: undefined when no such object exists. */
  jobState(id: number): string | undefined;
  /** Cancels a running or waiting job. */
  cancel(id: number, uid: number): void;
  /** Whether any job object is exported (the manager then has a `job` child node). */
  hasJobs(): boolean;
  /** A refused privileged call, for the journal: `reason` is the text the caller got. */
  denied?(member: string, sender: string, uid: number | null, reason: string): void;
  /** A non-root caller that polkit allowed, for the journal. */
  authorized?(member: string, sender: string, uid: number, action: string): void;
  /** Called when a method call starts being answered; the returned function when its reply is sent. */
  callStarted?(): () => void;
}

interface ReplyValue {
  signature: string;
  body: unknown[];
}

// dbus-next's types.d.ts declares newError's first parameter as a string; the code takes the Message
// being answered (lib/message-type.js). Re-typed here, once.
const newError = dbus.Message.newError.bind(dbus.Message) as unknown as (
  msg: dbus.Message,
  errorName: string,
  errorText: string,
) => dbus.Message;

function errorReply(msg: dbus.Message, err: unknown): dbus.Message {
  if (err instanceof ServiceError) return newError(msg, err.errorName, err.message);
  if (err instanceof QueueFullError) return newError(msg, DBusErrorName.LimitsExceeded, err.message);
  const text = messageOf(err);
  return newError(msg, DBusErrorName.Failed, text);
}

function send(bus: dbus.MessageBus, reply: dbus.Message): void {
  try {
    bus.send(reply);
  } catch {
    // The connection is gone: the caller gets its error from the bus, the daemon learns it from 'error'.
  }
}

function expectSignature(msg: dbus.Message, iface: string, want: string): void {
  const got = msg.signature ?? '';
  if (got !== want) {
    throw new ServiceError(
      DBusErrorName.InvalidArgs,
      `${iface}.${msg.member} takes (${want}), got (${got}); see 'busctl introspect org.bootc.BoundImages ${msg.path}'`,
    );
  }
}

/**
 * Installs the handler on `bus`; returns a function that removes it. Calls to other paths, and
 * Get/GetAll/Ping/… on ours, fall through to dbus-next.
 */
export function installMethodHandler(bus: dbus.MessageBus, backend: MethodBackend): () => void {
  const authorizer = new Authorizer(bus);

  const answer = (msg: dbus.Message, work: () => Promise<ReplyValue> | ReplyValue): true => {
    const done = backend.callStarted?.();
    Promise.resolve()
      .then(work)
      .then(
        (r) => send(bus, dbus.Message.newMethodReturn(msg, r.signature, r.body)),
        (err: unknown) => send(bus, errorReply(msg, err)),
      )
      .finally(done);
    return true;
  };

  /** Root, or a caller polkit allows `action`; else AccessDenied naming the action. */
  const requireAuthorized = async (
    msg: dbus.Message,
    iface: string,
    action: PolkitActionId,
  ): Promise<number> => {
    const decision = await authorizer.authorize({
      method: `${iface}.${msg.member}`,
      action,
      sender: msg.sender,
      flags: msg.flags,
    });
    if (decision.allowed) {
      if (decision.by === 'polkit') backend.authorized?.(msg.member, msg.sender ?? '', decision.uid, action);
      return decision.uid;
    }
    backend.denied?.(msg.member, msg.sender ?? '', decision.uid, decision.text);
    throw new ServiceError(DBusErrorName.AccessDenied, decision.text);
  };

  const introspect = (msg: dbus.Message, interfaces: InterfaceSpec[], children: string[]): true =>
    answer(msg, () => {
      expectSignature(msg, INTROSPECTABLE, '');
      return { signature: 's', body: [renderIntrospection(interfaces, children)] };
    });

  const refuseSet = (msg: dbus.Message, spec: InterfaceSpec): true =>
    answer(msg, () => {
      expectSignature(msg, PROPERTIES, 'ssv');
      const [ifaceName, prop] = msg.body as [string, string];
      const known = ifaceName === spec.name && spec.properties.some((p) => p.name === prop);
      throw known
        ? new ServiceError(DBusErrorName.PropertyReadOnly, `property ${ifaceName}.${prop} is read-only`)
        : new ServiceError(DBusErrorName.InvalidArgs, `no property ${ifaceName}.${prop} on ${msg.path}`);
    });

  /**
   * Get and GetAll are answered by dbus-next, which checks neither the signature nor the length of
   * the names it echoes back: check both here, then let the call fall through.
   */
  const checkPropertyRead = (msg: dbus.Message, spec: InterfaceSpec): boolean => {
    const want = msg.member === 'Get' ? 'ss' : 's';
    let error: ServiceError | null = null;
    try {
      expectSignature(msg, PROPERTIES, want);
      const [ifaceName, prop] = msg.body as [string, string | undefined];
      if (ifaceName !== spec.name && !(msg.member === 'GetAll' && ifaceName === '')) {
        error = new ServiceError(
          DBusErrorName.InvalidArgs,
          `no interface '${shown(ifaceName)}' on ${msg.path}`,
        );
      } else if (prop !== undefined && !spec.properties.some((p) => p.name === prop)) {
        error = new ServiceError(
          DBusErrorName.InvalidArgs,
          `no property ${spec.name}.${shown(prop)} on ${msg.path}`,
        );
      }
    } catch (err) {
      error = err instanceof ServiceError ? err : new ServiceError(DBusErrorName.InvalidArgs, String(err));
    }
    if (!error) return false;
    const e = error;
    return answer(msg, () => {
      throw e;
    });
  };

  const manager = (msg: dbus.Message): true => {
    switch (msg.member) {
      case 'Upgrade':
        return answer(msg, async () => {
          expectSignature(msg, MANAGER_INTERFACE, 'a{sv}');
          const uid = await requireAuthorized(msg, MANAGER_INTERFACE, PolkitAction.upgrade);
          const options = await parseUpgradeOptions(msg.body[0]);
          return { signature: 'o', body: [backend.upgrade(options, uid)] };
        });
      case 'ListBoundImages':
        return answer(msg, async () => {
          expectSignature(msg, MANAGER_INTERFACE, '');
          return { signature: 'a(ssss)', body: [await backend.listBoundImages()] };
        });
      case 'ListBoundImagesByRoot':
        return answer(msg, async () => {
          expectSignature(msg, MANAGER_INTERFACE, '');
          return { signature: 'a(sssss)', body: [await backend.listBoundImagesByRoot()] };
        });
      default:
        return answer(msg, () => {
          throw new ServiceError(
            DBusErrorName.UnknownMethod,
            `no method '${msg.member}' in ${MANAGER_INTERFACE}`,
          );
        });
    }
  };

  const job = (msg: dbus.Message, id: number): true => {
    if (msg.member !== 'Cancel') {
      return answer(msg, () => {
        throw new ServiceError(DBusErrorName.UnknownMethod, `no method '${msg.member}' in ${JOB_INTERFACE}`);
      });
    }
    return answer(msg, async () => {
      expectSignature(msg, JOB_INTERFACE, '');
      const uid = await requireAuthorized(msg, JOB_INTERFACE, PolkitAction.cancel);
      const state = backend.jobState(id);
      if (state === undefined) {
        throw new ServiceError(DBusErrorName.UnknownObject, `job ${id} does not exist (any more)`);
      }
      if (state !== 'running') {
        throw new ServiceError(DBusErrorName.JobFinished, `job ${id} has already finished (${state})`);
      }
      backend.cancel(id, uid);
      return { signature: '', body: [] };
    });
  };

  const handler = (msg: dbus.Message): boolean => {
    const isManager = msg.path === MANAGER_PATH;
    const jobId = isManager ? null : jobIdOfPath(msg.path);
    if (!isManager && jobId === null) return false;
    const exists = jobId === null || backend.jobState(jobId) !== undefined;
    const spec = isManager ? MANAGER_SPEC : JOB_SPEC;
    if (exists && msg.interface === INTROSPECTABLE && msg.member === 'Introspect') {
      return introspect(msg, [spec], isManager && backend.hasJobs() ? ['job'] : []);
    }
    if (exists && msg.interface === PROPERTIES && msg.member === 'Set') return refuseSet(msg, spec);
    if (exists && msg.interface === PROPERTIES && (msg.member === 'Get' || msg.member === 'GetAll')) {
      return checkPropertyRead(msg, spec);
    }
    // A method call may leave the interface out; the member then names one of ours or none.
    if (msg.interface !== undefined && msg.interface !== null && msg.interface !== spec.name) return false;
    return jobId === null ? manager(msg) : job(msg, jobId);
  };

  bus.addMethodHandler(handler);
  return () => bus.removeMethodHandler(handler);
}
