// Serves the properties of a contract interface (src/contract/) from a table: one entry per property
// of the interface, typed by it, so a property added to dbus/org.bootc.BoundImages.xml is a compile
// error here until it has a value, and the getters dbus-next reads are made from that table. Each
// entry names the model fields whose change moves it (the field map PropertiesChanged follows).
// Methods are not configured here: the method handler serves them.
import dbus from 'dbus-next';
import type { DBusValue, InterfaceSpec, PropertyName, PropertyType } from '../contract/index.js';

/** How one property reads its value from `Src`, and which fields `F` of the model move it. */
export interface PropertyEntry<Src, F extends string, V> {
  /** The model fields whose change moves this property; none for a constant or a derived one. */
  readonly fields?: readonly F[];
  get(src: Src): V;
}

/** One entry for every property of interface `S`. */
export type PropertyTable<S extends InterfaceSpec, Src, F extends string = never> = {
  readonly [P in PropertyName<S>]: PropertyEntry<Src, F, DBusValue<PropertyType<S, P>>>;
};

/** A subclass of dbus-next's Interface, whatever its constructor takes. */
interface InterfaceClass<Obj> {
  readonly name: string;
  readonly prototype: Obj;
  configureMembers: (typeof dbus.interface.Interface)['configureMembers'];
}

/**
 * Defines on `klass` one getter per property of `spec`, reading `table` over `source(object)`, and
 * tells dbus-next the property table.
 */
export function serveProperties<S extends InterfaceSpec, Obj, Src, F extends string>(
  klass: InterfaceClass<Obj>,
  spec: S,
  table: PropertyTable<S, Src, F>,
  source: (obj: Obj) => Src,
): void {
  const properties: Record<string, dbus.interface.PropertyOptions> = {};
  const entries = table as Record<string, PropertyEntry<Src, F, unknown> | undefined>;
  for (const p of spec.properties) {
    const entry = entries[p.name];
    if (!entry) throw new Error(`${klass.name} has no value for the ${spec.name} property ${p.name}`);
    Object.defineProperty(klass.prototype, p.name, {
      get(this: Obj) {
        return entry.get(source(this));
      },
      configurable: true,
    });
    properties[p.name] = { signature: p.type, access: p.access };
  }
  klass.configureMembers({ properties });
}

/** The properties of `table` that a change of `fields` moves, in table order. */
export function propertiesMovedBy<S extends InterfaceSpec, F extends string>(
  table: PropertyTable<S, unknown, F>,
  fields: readonly F[],
): string[] {
  const entries = Object.entries(table) as [string, PropertyEntry<unknown, F, unknown>][];
  return entries.filter(([, e]) => e.fields?.some((f) => fields.includes(f))).map(([name]) => name);
}

/** Sends PropertiesChanged for `names` of an exported interface, reading their current values. */
export function emitChanged(iface: dbus.interface.Interface, names: readonly string[]): void {
  if (names.length === 0) return;
  const values: Record<string, unknown> = {};
  for (const n of names) values[n] = (iface as unknown as Record<string, unknown>)[n];
  dbus.interface.Interface.emitPropertiesChanged(iface, values, []);
}
