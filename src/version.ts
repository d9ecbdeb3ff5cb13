// The version of bound-imaged, read from the package.json of the installed tree (found upwards from
// the compiled module: dist/src/ in the checkout, $PKGLIBDIR/dist/src/ once installed). Shared by the
// daemon (the Version property, --version) and the client (--version); no other imports.
import { readFileSync } from 'node:fs';

/** The version in the package.json above this module (src/ when run from source, dist/src/ when built). */
export function readVersion(from: URL = new URL('.', import.meta.url)): string {
  for (let dir = from; ; dir = new URL('..', dir)) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
      const version = (pkg as { version?: unknown }).version;
      if (typeof version === 'string') return version;
    } catch {
      // not here: look further up
    }
    if (dir.pathname === '/') return 'unknown';
  }
}
