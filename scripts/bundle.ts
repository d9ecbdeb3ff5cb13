// The self-contained runtime tree a package installs under /usr/lib/bound-imaged/: the daemon and the
// client bundled by esbuild (ESM for Node 20, one file per entry point: the modules they import lazily
// are still evaluated only on first use, esbuild wraps each in an initializer), the two native addons
// they load, and nothing from node_modules beside them:
//
//   bound-imaged.js, bound-images.js   the daemon and the client, each a whole program
//   lazy/*.cjs                         packages dbus-next reaches but seldom runs, required on first use
//   native/notify.node, native/journal_send.node   sd-notify's and systemd-journald's addons
//   package.json                       name, version (the daemon's Version), "type": "module", the
//                                      Node ABI the addons were built for
//   THIRD-PARTY-LICENSES               the licenses of the bundled npm packages
//
// usage: node dist/scripts/bundle.js [--splitting] [OUTDIR]
//        (default OUTDIR build/bundle; prints its files and bytes)
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Metafile, Plugin } from 'esbuild';
import { build } from 'esbuild';

import { messageOf } from '../src/errors.js';

/** The checkout: the nearest directory above this module with the project's package.json. */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'bootc-bound-images'
    ) {
      return dir;
    }
  }
  throw new Error(`bundle: no bound-imaged checkout above ${fileURLToPath(import.meta.url)}`);
}

const REPO = repoRoot();

/**
 * Packages the daemon never runs: dbus-next's usocket is an optional native part npm does not build
 * here (package.json allowScripts); x11 finds a session bus through an X display. In the bundle each
 * is a module whose every member throws, naming what was left out.
 */
const LEFT_OUT = ['x11', 'usocket'];

/** Where the bundle's code finds the addons: relative to the file that loads them, in the tree's root. */
const NATIVE_DIR = 'native';

const NATIVE_REQUIRE = `// bundled replacement of src/systemd/native-require.ts: the bindings are compiled into this bundle
export function requireNative(id) {
  switch (id) {
    case 'sd-notify':
      return require('sd-notify');
    case 'systemd-journald':
      return require('systemd-journald');
    default:
      throw new Error(\`'\${id}' is not a native binding of this bundle (sd-notify, systemd-journald)\`);
  }
}
`;

/** Node's ABI (NODE_MODULE_VERSION) and major version: the addons load only in a Node with this ABI. */
const NODE_ABI = process.versions.modules;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

function packageDirOf(file: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const parent = basename(dirname(dir));
    const scoped = parent.startsWith('@') && basename(dirname(dirname(dir))) === 'node_modules';
    if ((parent === 'node_modules' || scoped) && existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`bundle: ${file} is not inside an npm package`);
}

/** Copies every addon to OUTDIR/native and points the bundle's requires at the copies. */
function nativePlugin(outdir: string, copied: Map<string, string>): Plugin {
  const copy = (from: string): string => {
    const name = basename(from);
    const earlier = copied.get(name);
    if (earlier !== undefined && earlier !== from) {
      throw new Error(`bundle: two addons named ${name}: ${earlier} and ${from}`);
    }
    copied.set(name, from);
    mkdirSync(join(outdir, NATIVE_DIR), { recursive: true });
    copyFileSync(from, join(outdir, NATIVE_DIR, name));
    return `./${NATIVE_DIR}/${name}`;
  };
  return {
    name: 'bound-imaged-native',
    setup(b) {
      // src/systemd/native-require.ts → the bindings by name, bundled (still loaded on first use).
      b.onResolve({ filter: /\/native-require\.js$/ }, (args) => ({
        path: join(args.resolveDir, 'native-require.ts'),
        namespace: 'native-require',
      }));
      b.onLoad({ filter: /.*/, namespace: 'native-require' }, (args) => ({
        contents: NATIVE_REQUIRE,
        loader: 'js',
        resolveDir: dirname(args.path),
      }));
      // `require('./build/Release/x.node')` (systemd-journald) → ./native/x.node beside the file.
      b.onResolve({ filter: /\.node$/ }, (args) => {
        if (args.path.startsWith(`./${NATIVE_DIR}/`) && args.namespace === 'bindings') {
          return { path: args.path, external: true };
        }
        return { path: copy(resolve(args.resolveDir, args.path)), external: true };
      });
      // `require('bindings')('notify')` (sd-notify) finds its addon from the caller's stack and
      // package.json: in a bundle, load the package's own build/Release addons by name instead.
      b.onResolve({ filter: /^bindings$/ }, (args) => ({
        path: packageDirOf(args.importer),
        namespace: 'bindings',
      }));
      b.onLoad({ filter: /.*/, namespace: 'bindings' }, (args) => {
        const release = join(args.path, 'build', 'Release');
        const addons = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.node')) : [];
        if (addons.length === 0)
          throw new Error(`bundle: ${release} has no addon: run 'npm ci' (allowScripts)`);
        const cases = addons
          .map(
            (f) =>
              `    case ${JSON.stringify(f.slice(0, -5))}: return require(${JSON.stringify(copy(join(release, f)))});`,
          )
          .join('\n');
        return {
          contents: `module.exports = function bindings(name) {\n  switch (String(name).replace(/\\.node$/, '')) {\n${cases}\n  }\n  throw new Error('addon ' + name + ' is not in this bundle');\n};\n`,
          loader: 'js',
          resolveDir: args.path,
        };
      });
    },
  };
}

function leftOutPlugin(): Plugin {
  const filter = new RegExp(`^(${LEFT_OUT.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})(/.*)?$`);
  return {
    name: 'bound-imaged-left-out',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'left-out' }));
      b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
        contents: `const what = ${JSON.stringify(args.path)};
const fail = () => { throw new Error(what + ' is not part of the bound-imaged bundle (it uses the system bus and the Podman API over unix sockets only)'); };
module.exports = new Proxy({}, { get: (_t, p) => (typeof p === 'symbol' || p === '__esModule' ? undefined : fail) });
`,
        loader: 'js',
      }));
    },
  };
}

/** What every esbuild run of the bundle shares: Node 20, minified but with names kept, a metafile. */
const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** Where the packages dbus-next loads only on use lie in the tree, each one CommonJS file. */
const LAZY_DIR = 'lazy';

/**
 * Packages dbus-next reaches that the daemon seldom or never runs, each bundled into a CommonJS file
 * of its own under lazy/ and required from there on first use, so that READY waits neither for
 * their evaluation nor for V8 to parse them with the code that holds dbus-next (a third of it, when it was one chunk):
 *   - xml2js (with xmlbuilder and sax): every bus builds a Builder and every proxy object a Parser
 *     when it is made, so dbus-next gets a Builder and a Parser that require the real one on their
 *     first buildObject()/parseString(). The daemon answers Introspect from the contract
 *     (src/contract/introspection-xml.ts); dbus-next's Builder renders only the nodes above it, and
 *     the Parser reads logind's answer when the staged guard watches for shutdown.
 *   - event-stream: only dbus-next's unixexec: transport, which the daemon never uses.
 *   - Node's crypto, loaded by dbus-next at start for the cookie authentication only (no file: the
 *     stand-in requires node:crypto on first use).
 */
export const LAZY_PACKAGES: readonly { name: string; shim?: string; file: boolean }[] = [
  {
    name: 'xml2js',
    file: true,
    shim: `let real;
const load = () => (real ??= require('./${LAZY_DIR}/xml2js.cjs'));
class Builder { constructor(o) { this.o = o; } buildObject(x) { return new (load().Builder)(this.o).buildObject(x); } }
class Parser { constructor(o) { this.o = o; } parseString(s, cb) { return new (load().Parser)(this.o).parseString(s, cb); } }
module.exports = { Builder, Parser };
`,
  },
  { name: 'event-stream', file: true },
  // Node's own crypto (~20 internal modules): dbus-next needs it only for DBUS_COOKIE_SHA1, never
  // for the EXTERNAL authentication a system bus takes.
  {
    name: 'crypto',
    file: false,
    shim: `module.exports = new Proxy({}, { get: (_t, k) => require('node:crypto')[k] });\n`,
  },
];

/** dbus-next's require of a lazy package: its shim, else the file under lazy/ (a runtime require). */
export function lazyPackagesPlugin(): Plugin {
  const names = new Map(LAZY_PACKAGES.map((p) => [p.name, p]));
  return {
    name: 'bound-imaged-lazy-packages',
    setup(b) {
      b.onResolve({ filter: /^[a-z0-9-]+$/ }, (args) => {
        const lazy = names.get(args.path);
        if (!lazy || !args.importer.includes('/node_modules/dbus-next/')) return undefined;
        return lazy.shim === undefined
          ? { path: `./${LAZY_DIR}/${lazy.name}.cjs`, external: true }
          : { path: lazy.name, namespace: 'lazy-shim' };
      });
      b.onResolve({ filter: new RegExp(`^\\./${LAZY_DIR}/`) }, (args) => ({
        path: args.path,
        external: true,
      }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-shim' }, (args) => ({
        contents: names.get(args.path)?.shim ?? '',
        loader: 'js',
      }));
    },
  };
}

/** Each lazy package as one CommonJS file under `outdir`/lazy/; their metafiles, for the licenses. */
export async function bundleLazyPackages(outdir: string): Promise<Metafile[]> {
  const metas: Metafile[] = [];
  for (const { name } of LAZY_PACKAGES.filter((p) => p.file)) {
    const r = await build({
      absWorkingDir: REPO,
      stdin: {
        contents: `module.exports = require(${JSON.stringify(name)});`,
        resolveDir: join(REPO, 'node_modules', 'dbus-next'),
        loader: 'js',
      },
      outfile: join(outdir, LAZY_DIR, `${name}.cjs`),
      ...COMMON,
      format: 'cjs',
    });
    metas.push(r.metafile);
  }
  return metas;
}

/** The license texts of the npm packages whose code is in the bundle. */
function thirdPartyLicenses(metas: readonly Metafile[]): string {
  const dirs = new Set<string>();
  for (const input of metas.flatMap((m) => Object.keys(m.inputs))) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0 || input.includes(':')) continue;
    dirs.add(packageDirOf(resolve(REPO, input)));
  }
  const parts: string[] = [];
  for (const dir of [...dirs].sort()) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      license?: unknown;
    };
    const files = readdirSync(dir).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f));
    const texts = files.map((f) => readFileSync(join(dir, f), 'utf8').trim());
    parts.push(
      `${pkg.name} ${pkg.version} (${typeof pkg.license === 'string' ? pkg.license : 'see text'})\n\n${texts.join('\n\n') || '(no license file in the package)'}`,
    );
  }
  return parts.join(`\n\n${'-'.repeat(72)}\n\n`) + '\n';
}

export interface BundleResult {
  outdir: string;
  files: { path: string; bytes: number }[];
}

/**
 * `splitting: true` (the --splitting flag) only to measure what code splitting would buy: chunks
 * shared by the two entry points and one per lazily imported module. The shipped tree is unsplit: its
 * daemon reached READY ~12 % sooner (docs/performance.md, "Start and memory").
 */
export async function bundle(outdir: string, opts: { splitting?: boolean } = {}): Promise<BundleResult> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const copied = new Map<string, string>();
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: { 'bound-imaged': 'src/main.ts', 'bound-images': 'src/cli/main.ts' },
    outdir,
    ...COMMON,
    splitting: opts.splitting ?? false,
    format: 'esm',
    chunkNames: 'chunk-[hash]',
    // CommonJS packages inside an ES module bundle: their require() of Node's builtins and of the
    // addons goes through a real require of this file's location.
    banner: {
      js: "import{createRequire as __biRequire}from'node:module';const require=__biRequire(import.meta.url);",
    },
    plugins: [leftOutPlugin(), lazyPackagesPlugin(), nativePlugin(outdir, copied)],
  });
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string })
    .version;
  writeFileSync(
    join(outdir, 'package.json'),
    JSON.stringify(
      {
        name: 'bound-imaged',
        version,
        private: true,
        type: 'module',
        nodeAbi: NODE_ABI,
        nodeMajor: NODE_MAJOR,
      },
      null,
      2,
    ) + '\n',
  );
  const lazyMetas = await bundleLazyPackages(outdir);
  writeFileSync(join(outdir, 'THIRD-PARTY-LICENSES'), thirdPartyLicenses([result.metafile, ...lazyMetas]));
  for (const want of ['notify.node', 'journal_send.node']) {
    if (!copied.has(want)) throw new Error(`bundle: the addon ${want} was not reached from the entry points`);
  }
  // The ABI recorded above is this Node's: make sure the addons really are built for it.
  for (const name of copied.keys()) {
    try {
      process.dlopen({ exports: {} }, join(outdir, NATIVE_DIR, name));
    } catch (e) {
      throw new Error(
        `bundle: ${NATIVE_DIR}/${name} does not load in this Node.js (ABI ${NODE_ABI}): ${(e as Error).message}; run 'npm ci' with it`,
        { cause: e },
      );
    }
  }
  const files = readdirSync(outdir, { recursive: true, encoding: 'utf8' })
    .map((p) => ({ path: p, full: join(outdir, p) }))
    .filter((f) => statSync(f.full).isFile())
    .map((f) => ({ path: f.path, bytes: statSync(f.full).size }))
    .sort((a, b) => a.path.localeCompare(b.path));
  return { outdir, files };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const splitting = args.includes('--splitting');
  const outdir = resolve(args.find((a) => !a.startsWith('--')) ?? join(REPO, 'build', 'bundle'));
  bundle(outdir, { splitting }).then(
    ({ files }) => {
      const total = files.reduce((n, f) => n + f.bytes, 0);
      for (const f of files) console.log(`${String(f.bytes).padStart(9)}  ${f.path}`);
      console.log(
        `bundle: ${files.length} files, ${total} bytes in ${relative(process.cwd(), outdir) || '.'}`,
      );
    },
    (e: unknown) => {
      console.error(messageOf(e));
      process.exitCode = 1;
    },
  );
}
