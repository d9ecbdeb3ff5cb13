// Configures a dbus-next Interface class's properties from an interface spec of the contract, so the
// property table served over the bus is the contract's and a getter missing in the class is an error
// at load time, not a silent hole. Methods are not configured here: the method handler serves them.
import dbus from 'dbus-next';
import type { InterfaceSpec } from './contract.js';

/** A subclass of dbus-next's Interface, whatever its constructor takes. */
interface InterfaceClass {
  readonly name: string;
  readonly prototype: object;
  configureMembers: (typeof dbus.interface.Interface)['configureMembers'];
}

export function configureProperties(klass: InterfaceClass, spec: InterfaceSpec): void {
  const properties: Record<string, dbus.interface.PropertyOptions> = {};
  for (const p of spec.properties) {
    const descriptor = Object.getOwnPropertyDescriptor(klass.prototype, p.name);
    if (!descriptor?.get) {
      throw new Error(`${klass.name} lacks a getter for the ${spec.name} property ${p.name}`);
    }
    properties[p.name] = { signature: p.type, access: p.access };
  }
  klass.configureMembers({ properties });
}

/** Sends PropertiesChanged for `names` of an exported interface, reading their current values. */
export function emitChanged(iface: dbus.interface.Interface, names: readonly string[]): void {
  if (names.length === 0) return;
  const values: Record<string, unknown> = {};
  for (const n of names) values[n] = (iface as unknown as Record<string, unknown>)[n];
  dbus.interface.Interface.emitPropertiesChanged(iface, values, []);
}
