// Public surface of the systemd module: journald logging with stable MESSAGE_IDs, sd_notify.
export { MessageCatalog, MessageId } from './message-ids.js';
export type { MessageIdInfo, MessageIdName } from './message-ids.js';
export { createLogger, DEFAULT_IDENTIFIER, JOURNAL_SOCKET } from './log.js';
export type { LogFields, Logger, LoggerOptions, SinkKind } from './log.js';
export { createNotifier, statusLine, watchdogIntervalMs } from './notify.js';
export type { Notifier, NotifierOptions } from './notify.js';
export { parsePriority, PRIORITIES } from './priority.js';
export type { Priority } from './priority.js';
export { isSecretFieldName, REDACTED, redactText } from './redact.js';
export { holdSecret } from './held-secrets.js';
