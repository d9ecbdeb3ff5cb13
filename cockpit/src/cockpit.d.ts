// Types of the part of Cockpit's cockpit.js (base1, loaded by index.html as ../base1/cockpit.js)
// that the page uses: the D-Bus client, proxies, signals, permission and gettext. Debian's cockpit
// packages ship no typings; these follow the documented API of cockpit.js (API version 219+).

declare namespace cockpit {
  /** An error from a D-Bus call: `name` is the D-Bus error name; or a Cockpit `problem` code. */
  interface DBusError extends Error {
    name: string;
    problem: string | null;
    message: string;
  }

  interface DBusOptions {
    bus?: 'system' | 'session' | 'internal' | 'none';
    superuser?: 'try' | 'require';
    address?: string;
  }

  interface CallOptions {
    /** The D-Bus signature of the arguments (avoids an introspection round trip). */
    type?: string;
    flags?: string;
    timeout?: number;
  }

  interface Subscription {
    remove(): void;
  }

  type SignalHandler = (path: string, iface: string, signal: string, args: unknown[]) => void;

  interface DBusProxy {
    readonly valid: boolean;
    readonly path: string;
    readonly iface: string;
    readonly data: Record<string, unknown>;
    wait(): Promise<void>;
    addEventListener(
      type: 'changed',
      listener: (event: Event, changed: Record<string, unknown>) => void,
    ): void;
    addEventListener(type: 'signal', listener: (event: Event, name: string, args: unknown[]) => void): void;
    removeEventListener(type: string, listener: (...args: never[]) => void): void;
    [property: string]: unknown;
  }

  interface DBusClient {
    readonly unique_name: string | null;
    call(
      path: string,
      iface: string,
      method: string,
      args: unknown[],
      options?: CallOptions,
    ): Promise<unknown[]>;
    subscribe(
      match: { path?: string; path_namespace?: string; interface?: string; member?: string; arg0?: string },
      handler: SignalHandler,
      rule?: boolean,
    ): Subscription;
    proxy(iface: string, path: string, options?: { watch?: boolean }): DBusProxy;
    addEventListener(type: 'owner', listener: (event: Event, owner: string | null) => void): void;
    addEventListener(type: 'close', listener: (event: Event, options: { problem?: string }) => void): void;
    close(problem?: string): void;
  }

  interface Permission {
    /** true: the session may act as root; false: it may not; null: not known yet. */
    readonly allowed: boolean | null;
    addEventListener(type: 'changed', listener: () => void): void;
  }

  const language: string;

  function dbus(name: string | null, options?: DBusOptions): DBusClient;
  function permission(options?: { admin?: boolean; group?: string }): Permission;
  function gettext(message: string): string;
  function format(template: string, ...args: unknown[]): string;
  function translate(): void;
}
