// Stable journal MESSAGE_IDs of the events an operator filters on, and what each event carries.
// The ids were generated once with `systemd-id128 new` and must never change: dashboards,
// alerts and `journalctl MESSAGE_ID=…` queries depend on them. docs/logging.md lists them all
// (a unit test keeps the two in step).
import type { Priority } from './priority.js';

export const MessageId = {
  ReconcileStarted: '3715f074fffc41eba1374c824c61082c',
  ReconcileSucceeded: '9c10a3f27fc84f10a7edbc383f05cbd3',
  ReconcileFailed: 'fda5c5d85817454093ac46af19cc0277',
  ReconcileCancelled: '2d29eb5f5997410fbb9d83721cbb080e',
  ImagePulled: '30f69d9be56246fda9eacccf59d972c8',
  ImagePullFailed: 'b3872a64eb504a15b3a2374430b7fd47',
  ImageRemoved: '1ccb888fadbd4bb6a7c5d42fc469f489',
  ImageUntagged: '5915a48af53e44718304f160f2d2b162',
  GcSkipped: '8e2cc89a09bc4900be5c5c3f07888426',
  DiscoveryError: '2e80d6bbf085446db77a890aa2716364',
  DaemonReady: '7f748c4c07a24251ae2e58a2ad8d34be',
  DaemonStopping: 'e875e98389d849b7b7fcb41fd7f2b471',
  ConfigError: 'dc00c11e954a44ce8e0ef78cf90069c8',
  RootForgotten: 'ade74a1234bf47c3bf6327032d5ba2c8',
  StagedLockTaken: '6b1ad1bd27e74fca939ceef5375cde66',
  StagedLockReleased: 'b93cbe8e263544649712d0794e6bac2d',
  StagedLockNotOurs: '5b9f5725ad5d4b87bcd93fb49b6490ee',
  RebootDelayed: '0bdbbf1ae0da4b2f827763e54b358c96',
} as const;

export type MessageIdName = keyof typeof MessageId;

/** What an event means, the priority it is logged at, and the journal fields it carries. */
export interface MessageIdInfo {
  id: string;
  priority: Priority;
  summary: string;
  /** Journal field names (besides MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID). */
  fields: readonly string[];
}

/** The contract callers follow when logging each event; docs/logging.md is written from it. */
export const MessageCatalog: { readonly [K in MessageIdName]: MessageIdInfo } = {
  ReconcileStarted: {
    id: MessageId.ReconcileStarted,
    priority: 'info',
    summary: 'a reconcile job started (discover → pull → GC)',
    fields: ['JOB_ID', 'ROOTS', 'PULL_POLICY', 'DRY_RUN'],
  },
  ReconcileSucceeded: {
    id: MessageId.ReconcileSucceeded,
    priority: 'notice',
    summary: 'a reconcile job finished successfully',
    fields: ['JOB_ID', 'PULLED', 'REMOVED', 'DURATION_MS'],
  },
  ReconcileFailed: {
    id: MessageId.ReconcileFailed,
    priority: 'err',
    summary: 'a reconcile job finished with errors',
    fields: ['JOB_ID', 'ERRORS', 'ERROR', 'PULLED', 'DURATION_MS'],
  },
  ReconcileCancelled: {
    id: MessageId.ReconcileCancelled,
    priority: 'notice',
    summary: 'a reconcile job was cancelled',
    fields: ['JOB_ID', 'CANCELLED_BY_UID'],
  },
  ImagePulled: {
    id: MessageId.ImagePulled,
    priority: 'info',
    summary: 'an image was pulled into the bound store',
    fields: ['JOB_ID', 'IMAGE', 'IMAGE_ID', 'BOUND_SOURCE', 'ROOT'],
  },
  ImagePullFailed: {
    id: MessageId.ImagePullFailed,
    priority: 'err',
    summary: 'pulling an image failed (after retries)',
    fields: ['JOB_ID', 'IMAGE', 'BOUND_SOURCE', 'ROOT', 'ATTEMPTS', 'ERROR'],
  },
  ImageRemoved: {
    id: MessageId.ImageRemoved,
    priority: 'info',
    summary: 'an image no root references was removed from the bound store',
    fields: ['JOB_ID', 'IMAGE', 'IMAGE_ID'],
  },
  ImageUntagged: {
    id: MessageId.ImageUntagged,
    priority: 'info',
    summary: 'an unreferenced name was removed from an image that is still referenced under another name',
    fields: ['JOB_ID', 'IMAGE', 'IMAGE_ID'],
  },
  GcSkipped: {
    id: MessageId.GcSkipped,
    priority: 'warning',
    summary: 'garbage collection was skipped because discovery or a pull did not succeed',
    fields: ['JOB_ID', 'REASON', 'ROOT'],
  },
  DiscoveryError: {
    id: MessageId.DiscoveryError,
    priority: 'warning',
    summary: 'one bound-images.d entry (or a whole root) could not be read or parsed',
    fields: ['JOB_ID', 'ROOT', 'BOUND_SOURCE', 'ENTRY', 'LINE', 'ERROR'],
  },
  DaemonReady: {
    id: MessageId.DaemonReady,
    priority: 'notice',
    summary: 'the daemon owns its bus name and is ready (sent with READY=1)',
    fields: ['VERSION', 'STORE_PATH', 'ROOTS'],
  },
  DaemonStopping: {
    id: MessageId.DaemonStopping,
    priority: 'notice',
    summary: 'the daemon is shutting down (sent with STOPPING=1)',
    fields: ['SIGNAL'],
  },
  ConfigError: {
    id: MessageId.ConfigError,
    priority: 'err',
    summary: 'the configuration file is invalid; the daemon refuses to start',
    fields: ['CONFIG_FILE', 'LINE', 'ERROR'],
  },
  RootForgotten: {
    id: MessageId.RootForgotten,
    priority: 'notice',
    summary: 'a remembered deployment root no longer exists and was dropped from the GC roots',
    fields: ['ROOT'],
  },
  StagedLockTaken: {
    id: MessageId.StagedLockTaken,
    priority: 'notice',
    summary:
      "the staged deployment binds images missing from the store: ostree's finalization lock was created, the next boot keeps the current deployment",
    fields: ['DEPLOYMENT', 'ROOT', 'LOCK_FILE', 'MISSING', 'REASON'],
  },
  StagedLockReleased: {
    id: MessageId.StagedLockReleased,
    priority: 'notice',
    summary:
      'the finalization lock this daemon created was removed: every bound image is present, or its staged deployment is gone or replaced',
    fields: ['DEPLOYMENT', 'LOCK_FILE', 'REASON'],
  },
  StagedLockNotOurs: {
    id: MessageId.StagedLockNotOurs,
    priority: 'notice',
    summary:
      'a finalization lock this daemon did not create is in place (or ours was removed by someone else): it is left as it is',
    fields: ['DEPLOYMENT', 'LOCK_FILE', 'REASON'],
  },
  RebootDelayed: {
    id: MessageId.RebootDelayed,
    priority: 'warning',
    summary:
      "a shutdown began while pulling the staged deployment's images: held by a logind delay inhibitor, at most InhibitDelayMaxSec",
    fields: ['DEPLOYMENT', 'MISSING', 'LOCKED', 'DELAY_MAX_USEC'],
  },
};
