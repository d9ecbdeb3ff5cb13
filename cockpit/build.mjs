// Builds the Cockpit package into dist/cockpit/bound-images/ (npm run build:cockpit): the page's
// TypeScript bundled by esbuild into one script and style/ into one stylesheet, beside index.html and
// manifest.json.
// cockpit.js itself is not bundled: the page loads Cockpit's own from ../base1/ at run time.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'cockpit', 'bound-images');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src', 'index.ts')],
  outfile: join(out, 'bound-images.js'),
  bundle: true,
  format: 'iife',
  // What Cockpit 2xx supports: current Chrome, Firefox, Safari and Edge.
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const style = await build({
  entryPoints: [join(here, 'style', 'index.css')],
  outfile: join(out, 'bound-images.css'),
  bundle: true,
  minify: true,
  // Cockpit's own fonts: the URLs name them where Cockpit serves them, relative to the page.
  external: ['*.woff2'],
  metafile: true,
  logLevel: 'warning',
});
for (const f of ['index.html', 'manifest.json']) copyFileSync(join(here, f), join(out, f));
const size = (r) => Object.values(r.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(
  `build:cockpit: ${out} (bound-images.js ${size(result)} bytes, bound-images.css ${size(style)} bytes)`,
);
