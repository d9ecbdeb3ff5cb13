// The shape of a D-Bus interface as the contract describes it (methods, properties, signals, with
// argument names), and the TypeScript value each D-Bus type of the contract has on both sides of the bus.

export interface ArgSpec {
  readonly name: string;
  readonly type: string;
  readonly direction?: 'in' | 'out';
}

export interface MethodSpec {
  readonly name: string;
  readonly args: readonly ArgSpec[];
}

export interface PropertySpec {
  readonly name: string;
  readonly type: string;
  readonly access: 'read' | 'write' | 'readwrite';
  /** Never changes for the object's lifetime (annotated EmitsChangedSignal=const). */
  readonly constant?: true;
}

export interface SignalSpec {
  readonly name: string;
  readonly args: readonly ArgSpec[];
}

export interface InterfaceSpec {
  readonly name: string;
  readonly methods: readonly MethodSpec[];
  readonly properties: readonly PropertySpec[];
  readonly signals: readonly SignalSpec[];
}

/**
 * The value of a D-Bus type as dbus-next takes it on export and gives it on receipt (a `t` may arrive
 * as a bigint; the client turns it into a number). A type the contract does not use is `never`, so a
 * new one is a compile error until it is given a value here and a check in the client's decoder.
 */
export type DBusValue<T extends string> = T extends 's' | 'o'
  ? string
  : T extends 'u' | 'd' | 't'
    ? number
    : T extends 'b'
      ? boolean
      : T extends 'as'
        ? string[]
        : T extends 'a(ss)'
          ? [string, string][]
          : T extends 'a{sv}'
            ? Record<string, unknown>
            : never;

/** The names of the properties of an interface spec. */
export type PropertyName<S extends InterfaceSpec> = S['properties'][number]['name'];

/** The D-Bus type of property `P` of interface spec `S`. */
export type PropertyType<S extends InterfaceSpec, P extends PropertyName<S>> = Extract<
  S['properties'][number],
  { name: P }
>['type'];

/** Every property of `S` with its TypeScript value. */
export type PropertyValues<S extends InterfaceSpec> = {
  [P in PropertyName<S>]: DBusValue<PropertyType<S, P>>;
};
