// Who may change anything: root always; anyone else only when polkit says so for the method's action
// (dbus/org.bootc.BoundImages.policy: org.bootc.BoundImages.upgrade, org.bootc.BoundImages.cancel).
// The caller's UID comes from the bus (caller.ts); root is allowed without asking polkit. Any other
// caller is checked with org.freedesktop.PolicyKit1.Authority.CheckAuthorization for its unique bus
// name (subject kind "system-bus-name"), with interaction allowed only when the caller set the
// ALLOW_INTERACTIVE_AUTHORIZATION flag on its call, as systemd's daemons do. Every doubt refuses
// (polkit missing, slow, or answering oddly): callers fail closed, with a text naming the action.
import dbus from 'dbus-next';
import { clip } from '../clip.js';
import { isRecord, messageOf } from '../errors.js';
import { callerUid } from './caller.js';

export const POLKIT_BUS_NAME = 'org.freedesktop.PolicyKit1';
const POLKIT_PATH = '/org/freedesktop/PolicyKit1/Authority';
const POLKIT_INTERFACE = 'org.freedesktop.PolicyKit1.Authority';
/** The message header flag a caller sets to say it may wait for a password prompt (D-Bus spec). */
export const ALLOW_INTERACTIVE_AUTHORIZATION = 0x4;
/** CheckAuthorization's flag: polkit may ask the user through an authentication agent. */
const POLKIT_ALLOW_USER_INTERACTION = 0x1;
/** polkit answers at once unless it asks a human: then it may take as long as typing a password. */
export const POLKIT_TIMEOUT_MS = 25_000;
export const POLKIT_INTERACTIVE_TIMEOUT_MS = 300_000;
/** At most this many polkit checks run at once; more callers are refused (not queued). */
export const MAX_PENDING_CHECKS = 64;

/** The polkit actions of the service, one per privileged method. */
export const PolkitAction = {
  upgrade: 'org.bootc.BoundImages.upgrade',
  cancel: 'org.bootc.BoundImages.cancel',
} as const;
export type PolkitActionId = (typeof PolkitAction)[keyof typeof PolkitAction];

export type Decision =
  | { allowed: true; uid: number; by: 'root' | 'polkit' }
  | {
      allowed: false;
      /** null: the bus could not say who the caller is. */
      uid: number | null;
      /** `denied`: polkit said no; `challenge`: it would ask for authentication, which the caller did
       * not allow; `unavailable`: polkit could not be asked; `busy`: too many checks at once. */
      why: 'unknown-caller' | 'denied' | 'challenge' | 'dismissed' | 'unavailable' | 'busy';
      /** The refusal, for the caller: names the method, the action and the UID. */
      text: string;
    };

export interface AuthorizeRequest {
  /** `org.bootc.BoundImages.Upgrade`, as the caller called it. */
  method: string;
  action: PolkitActionId;
  sender: string | null | undefined;
  /** The call's header flags. */
  flags: number;
}

/** A D-Bus error by its name only: the bus's own texts ("… 2 matched rules; type=…") help no caller. */
function whyUnasked(err: unknown): string {
  return err instanceof dbus.DBusError ? err.type : messageOf(err);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

interface PolkitAnswer {
  authorized: boolean;
  challenge: boolean;
  details: Record<string, string>;
}

/** Reads CheckAuthorization's (bba{ss}); throws on anything else. */
export function parseAuthorizationResult(reply: dbus.Message | null): PolkitAnswer {
  const result: unknown = reply?.body?.[0];
  if (reply?.signature !== '(bba{ss})' || !Array.isArray(result) || result.length !== 3) {
    throw new Error(`polkit answered CheckAuthorization with (${reply?.signature ?? 'nothing'})`);
  }
  const [authorized, challenge, details] = result as [unknown, unknown, unknown];
  if (typeof authorized !== 'boolean' || typeof challenge !== 'boolean' || !isRecord(details)) {
    throw new Error('polkit answered CheckAuthorization with unexpected values');
  }
  return { authorized, challenge, details: details as Record<string, string> };
}

export class Authorizer {
  private checks = 0;

  constructor(private readonly bus: dbus.MessageBus) {}

  /** polkit checks running now. */
  get pendingChecks(): number {
    return this.checks;
  }

  async authorize(req: AuthorizeRequest): Promise<Decision> {
    const { method, action } = req;
    let uid: number;
    try {
      uid = await callerUid(this.bus, req.sender);
    } catch (err) {
      return {
        allowed: false,
        uid: null,
        why: 'unknown-caller',
        text: `${method}: cannot tell who the caller is (${whyUnasked(err)})`,
      };
    }
    if (uid === 0) return { allowed: true, uid, by: 'root' };
    const who = `the caller is UID ${uid}`;
    if (this.checks >= MAX_PENDING_CHECKS) {
      return {
        allowed: false,
        uid,
        why: 'busy',
        text: `${method} needs polkit action ${action} for non-root callers, and ${MAX_PENDING_CHECKS} authorization checks are already running; ${who}: try again shortly`,
      };
    }
    const interactive = (req.flags & ALLOW_INTERACTIVE_AUTHORIZATION) !== 0;
    this.checks++;
    let answer: PolkitAnswer;
    try {
      answer = parseAuthorizationResult(
        await withTimeout(
          this.bus.call(
            new dbus.Message({
              destination: POLKIT_BUS_NAME,
              path: POLKIT_PATH,
              interface: POLKIT_INTERFACE,
              member: 'CheckAuthorization',
              signature: '(sa{sv})sa{ss}us',
              body: [
                ['system-bus-name', { name: new dbus.Variant('s', req.sender) }],
                action,
                {},
                interactive ? POLKIT_ALLOW_USER_INTERACTION : 0,
                '',
              ],
            }),
          ),
          interactive ? POLKIT_INTERACTIVE_TIMEOUT_MS : POLKIT_TIMEOUT_MS,
          'polkit',
        ),
      );
    } catch (err) {
      return {
        allowed: false,
        uid,
        why: 'unavailable',
        text: `${method} is only allowed for root (UID 0) or through polkit action ${action}; ${who}, and polkit could not be asked (${clip(whyUnasked(err))})`,
      };
    } finally {
      this.checks--;
    }
    if (answer.authorized) return { allowed: true, uid, by: 'polkit' };
    if (answer.details['polkit.dismissed']) {
      return {
        allowed: false,
        uid,
        why: 'dismissed',
        text: `${method}: authentication for polkit action ${action} was dismissed; ${who}`,
      };
    }
    if (answer.challenge) {
      return {
        allowed: false,
        uid,
        why: 'challenge',
        text: interactive
          ? `${method} needs authentication for polkit action ${action}, and no polkit authentication agent answered; ${who}`
          : `${method} needs authentication for polkit action ${action}; ${who}: call it with interactive authorization allowed (and a polkit agent running), or have a polkit rule allow the action`,
      };
    }
    return {
      allowed: false,
      uid,
      why: 'denied',
      text: `${method} is not allowed: polkit denies action ${action}; ${who}`,
    };
  }
}
