// scripts/bundle.ts leaves xml2js and event-stream out of the code that holds dbus-next and
// requires them from lazy/ on first use. This bundles a small client with the same plugin and lazy
// files and runs it against a real dbus-daemon: a proxy object (what the daemon's shutdown watch makes
// for logind) must still parse the bus's Introspect answer and dbus-next must still render the
// Introspect answer of a node above an exported object, both through the real xml2js, which must not
// be loaded before that first use.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLazyPackages, LAZY_PACKAGES, lazyPackagesPlugin } from '../../scripts/bundle.js';
import { makeTempDir, releaseDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const CLIENT = `import { createRequire } from 'node:module';
import dbus from 'dbus-next';
const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/lazy/'));
const crypto = () => process.moduleLoadList.includes('NativeModule crypto');
const bus = dbus.systemBus();
const before = loaded();
const cryptoAtStart = crypto();
class Thing extends dbus.interface.Interface {}
bus.export('/a/b', new Thing('org.example.Thing'));
await bus.requestName('org.bootc.BoundImages', 0);
const obj = await bus.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus');
const above = await bus.call(new dbus.Message({ destination: 'org.bootc.BoundImages', path: '/a', interface: 'org.freedesktop.DBus.Introspectable', member: 'Introspect' }));
console.log(JSON.stringify({ cryptoAtStart, cryptoAfter: crypto(), before, after: loaded(), interfaces: Object.keys(obj.interfaces), above: above.body[0] }));
bus.disconnect();
`;

describe('the bundle: dbus-next with its seldom used packages in lazy/', () => {
  let dir: string;
  let bus: PrivateBus;
  let script: string;

  beforeAll(async () => {
    dir = makeTempDir('bundle-lazy');
    bus = await startPrivateBus();
    writeFileSync(join(dir, 'client.mjs'), CLIENT);
    script = join(dir, 'client.bundle.mjs');
    await build({
      absWorkingDir: REPO,
      entryPoints: [join(dir, 'client.mjs')],
      nodePaths: [join(REPO, 'node_modules')],
      outfile: script,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
      // dbus-next's optional transports, left out of the real bundle too.
      external: ['x11', 'usocket'],
      banner: { js: "import{createRequire as __r}from'node:module';const require=__r(import.meta.url);" },
      plugins: [lazyPackagesPlugin()],
    });
    await bundleLazyPackages(dir);
  }, 60_000);

  afterAll(async () => {
    await bus?.stop();
    if (dir) releaseDir(dir);
  });

  it('puts each lazy package in a file of its own, not in the client', () => {
    const client = readFileSync(script, 'utf8');
    for (const { name } of LAZY_PACKAGES.filter((p) => p.file)) {
      expect(existsSync(join(dir, 'lazy', `${name}.cjs`)), name).toBe(true);
    }
    expect(client).not.toContain('XMLStringifier'); // xmlbuilder
    expect(client).not.toContain('SAXParser'); // sax
    expect(client).not.toContain('pause-stream');
  });

  it('parses and renders introspection through the real xml2js, loaded on first use only', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [script], { env: bus.env() }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out) as {
      cryptoAtStart: boolean;
      cryptoAfter: boolean;
      before: string[];
      after: string[];
      interfaces: string[];
      above: string;
    };
    expect(r.cryptoAtStart).toBe(false);
    expect(r.cryptoAfter).toBe(false); // EXTERNAL authentication needs none
    expect(r.before).toEqual([]);
    expect(r.after).toEqual([join(dir, 'lazy', 'xml2js.cjs')]);
    expect(r.interfaces).toContain('org.freedesktop.DBus');
    expect(r.above).toContain('<node name="b"/>');
  });
});
