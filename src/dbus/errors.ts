// D-Bus error names the service answers with, and the error type that carries one to the reply.
export const DBusErrorName = {
  AccessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  InvalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  LimitsExceeded: 'org.freedesktop.DBus.Error.LimitsExceeded',
  Failed: 'org.freedesktop.DBus.Error.Failed',
  PropertyReadOnly: 'org.freedesktop.DBus.Error.PropertyReadOnly',
  UnknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
  UnknownObject: 'org.freedesktop.DBus.Error.UnknownObject',
  JobFinished: 'org.bootc.BoundImages.Error.JobFinished',
} as const;

export type DBusErrorNameValue = (typeof DBusErrorName)[keyof typeof DBusErrorName];

/** An error that becomes a D-Bus error reply with `errorName` and the message as its text. */
export class ServiceError extends Error {
  constructor(
    readonly errorName: DBusErrorNameValue,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export function invalidArgs(message: string): ServiceError {
  return new ServiceError(DBusErrorName.InvalidArgs, message);
}
