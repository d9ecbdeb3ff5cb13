// How the native systemd bindings are found: Node's own resolution from this module (node_modules
// of the checkout, or of the installed tree). The bundled build (scripts/bundle.ts) replaces this
// module with one that loads the bindings compiled into the bundle and their addons shipped beside it.
import { createRequire } from 'node:module';

/** Loads a native binding by its package name ('sd-notify', 'systemd-journald'). */
export const requireNative: (id: string) => unknown = createRequire(import.meta.url);
