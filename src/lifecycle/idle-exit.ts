// How the daemon leaves for lack of work (the IdleMonitor decided it may): first the work it owes
// later is handed to systemd (wake-timer.ts), and when that fails it stays; then STOPPING=1, so
// systemd queues a start request that comes now instead of taking this process for a running one;
// the bus name is released, so a new call activates a new process; the calls the bus routed here
// before are still answered (and a job such a call started runs to its end); then the caller's
// `finish` (flush the state, disconnect) and exit 0.
import type dbus from 'dbus-next';
import { messageOf } from '../errors.js';
import type { Logger } from '../systemd/log.js';
import { MessageId } from '../systemd/message-ids.js';
import type { Notifier } from '../systemd/notify.js';
import type { PendingWork } from './pending-work.js';
import { WAKE_TIMER_UNIT, armWakeTimer } from './wake-timer.js';

/** How long the calls already routed here get to be answered. */
const DRAIN_MS = 4500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Hands the first pending work to systemd; false (with a warning) when it could not: stay up. */
export async function handOverPendingWork(
  bus: dbus.MessageBus,
  pendingWork: PendingWork,
  logger: Logger,
): Promise<boolean> {
  const next = pendingWork.next();
  if (!next) return true;
  try {
    const at = await armWakeTimer(bus, next.dueAt, next.reason);
    logger.notice(
      `pending work ${next.key} handed to systemd: ${WAKE_TIMER_UNIT} starts bound-imaged at ${at}`,
      {
        PENDING_WORK: next.key,
        WAKE_AT: at,
      },
    );
    return true;
  } catch (err) {
    // Never leave with work owed and nobody to come back for it.
    logger.warning(`staying up: pending work ${next.key} could not be handed to systemd (${messageOf(err)})`);
    return false;
  }
}

export interface LeaveOptions {
  idleMs: number;
  logger: Logger;
  notifier: Notifier;
  /** Gives up the bus name, keeping the connection (BoundImagesService.releaseName()). */
  releaseName(): Promise<void>;
  /** Method calls still being answered. */
  pendingCalls(): number;
  /** A job running or waiting (one a late call started). */
  busy(): boolean;
  /** Flushes the state and disconnects. */
  finish(): Promise<void>;
}

/** The exit itself, once pending work is handed over. */
export async function leaveIdle(o: LeaveOptions): Promise<void> {
  const seconds = Math.round(o.idleMs / 1000);
  o.notifier.stopWatchdog();
  o.notifier.stopping();
  o.notifier.status(`exiting: idle for ${seconds} s`);
  o.logger.notice(`stopping (idle for ${seconds} s; D-Bus activation or the timer starts it again)`, {
    messageId: MessageId.DaemonStopping,
    SIGNAL: 'idle',
  });
  await o.releaseName();
  const deadline = Date.now() + DRAIN_MS;
  while ((o.pendingCalls() > 0 || o.busy()) && Date.now() < deadline) await sleep(20);
  // A call that arrived just before the name went started a job: it finishes its work first.
  while (o.busy()) await sleep(100);
  await o.finish();
}
