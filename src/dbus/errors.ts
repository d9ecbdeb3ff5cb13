// The error type that carries a D-Bus error name (src/contract/) to the service's reply.
import { DBusErrorName, type DBusErrorNameValue } from '../contract/index.js';

export { DBusErrorName, type DBusErrorNameValue } from '../contract/index.js';

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
