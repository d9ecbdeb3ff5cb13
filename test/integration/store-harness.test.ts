// The real-services harness itself: registry access log and auth, outage and recovery, images made
// both ways, and the guarantee that nothing it starts outlives its process — stop(), a SIGTERM, and
// a SIGKILL (children die by pdeathsig; reapStrays() of a later run removes dirs and mounts).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../scripts/harness/index.js';
import { makeTempDir, reapStrays, releaseDir, run, startSandbox } from '../../scripts/harness/index.js';
import { httpRequest } from '../../scripts/harness/http.js';

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ auth: true });
});

afterAll(async () => {
  await sb?.stop();
});

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = /State:\s+(\w)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    });
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe('registry', () => {
  it('logs every request with method, path and status', async () => {
    const before = (await sb.registry.requests()).length;
    const [img] = await sb.makeImages([{ name: 'logged', layers: 2 }]);
    // docker-registry 2.8 answers 404 for an OCI manifest unless Accept names the OCI type.
    await httpRequest({
      url: `${sb.registry.url}/v2/logged/manifests/latest`,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const reqs = (await sb.registry.requests()).slice(before);
    expect(reqs).toContainEqual({ method: 'PUT', path: '/v2/logged/manifests/latest', status: 201 });
    expect(reqs).toContainEqual({ method: 'GET', path: '/v2/logged/manifests/latest', status: 200 });
    expect(img?.layers).toBe(2);
  });

  it('the auth registry demands its credentials', async () => {
    const reg = sb.authRegistry!;
    expect((await httpRequest({ url: `${reg.url}/v2/` })).status).toBe(401);
    const basic = Buffer.from(`${reg.auth!.user}:${reg.auth!.password}`).toString('base64');
    expect(
      (await httpRequest({ url: `${reg.url}/v2/`, headers: { authorization: `Basic ${basic}` } })).status,
    ).toBe(200);
    const wrong = Buffer.from(`${reg.auth!.user}:nope`).toString('base64');
    expect(
      (await httpRequest({ url: `${reg.url}/v2/`, headers: { authorization: `Basic ${wrong}` } })).status,
    ).toBe(401);
  });

  it('down() refuses connections, up() serves the same data on the same port', async () => {
    const [img] = await sb.makeImages([{ name: 'survivor' }]);
    await sb.registry.down();
    expect(sb.registry.isUp()).toBe(false);
    await expect(httpRequest({ url: `${sb.registry.url}/v2/` })).rejects.toThrow(/ECONNREFUSED/);
    await sb.registry.up();
    const res = await httpRequest({
      url: `${sb.registry.url}/v2/survivor/manifests/latest`,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(img?.digest);
  });
});

describe('images', () => {
  it("'direct' images have the layers asked for, and the registry agrees on the digest", async () => {
    const [img] = await sb.makeImages([{ name: 'layered', layers: 4, size: 4000 }]);
    const res = await httpRequest({
      url: `${sb.registry.url}/v2/layered/manifests/latest`,
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const manifest = JSON.parse(res.body.toString()) as { layers: unknown[] };
    expect(manifest.layers).toHaveLength(4);
    expect(res.headers['docker-content-digest']).toBe(img?.digest);
  });

  it("'podman' images (import, build with COPY, push) are made and pushed too, also with auth", async () => {
    const [one, two] = await sb.makeImages(
      [{ name: 'viapodman/one' }, { name: 'viapodman/two', layers: 3 }],
      { via: 'podman' },
    );
    for (const img of [one, two]) {
      const res = await httpRequest({
        url: `${sb.registry.url}/v2/${img?.name}/manifests/latest`,
        headers: {
          accept:
            'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      });
      expect(res.status).toBe(200);
      expect(res.headers['docker-content-digest']).toBe(img?.digest);
      expect((JSON.parse(res.body.toString()) as { layers: unknown[] }).layers).toHaveLength(
        img?.layers ?? 0,
      );
    }
    const [authed] = await sb.makeImages([{ name: 'viapodman/secret' }], { via: 'podman', auth: true });
    expect(authed?.reference).toBe(`${sb.authRegistry!.host}/viapodman/secret:latest`);
  });
});

describe('nothing outlives the run', () => {
  it('stop() kills the services, unmounts and removes every dir', async () => {
    const own = await startSandbox();
    const [img] = await own.makeImages([{ name: 'x', layers: 2 }]);
    // Through the service (a podman CLI run on the same store would unmount the service's mount).
    const pulled = await httpRequest({
      method: 'POST',
      url: `/images/create?fromImage=${encodeURIComponent(img!.reference)}`,
      socketPath: own.podman.socketPath,
    });
    expect(pulled.body.toString()).not.toContain('error');
    const consumer = await own.consumer();
    await consumer.podman(['create', '--name', 'c', img!.reference, '/bin/busybox', 'true']);
    await consumer.podman(['mount', 'c']);
    expect(mountsUnder(own.podman.dir).length).toBeGreaterThan(0);
    expect(mountsUnder(consumer.root).length).toBeGreaterThan(0);
    await own.stop();
    await own.stop(); // idempotent
    for (const dir of [own.podman.dir, own.registry.dir, consumer.root]) {
      expect(existsSync(dir)).toBe(false);
      expect(mountsUnder(dir)).toEqual([]);
    }
    expect(processesMentioning(own.podman.dir)).toEqual([]);
    expect(processesMentioning(own.registry.dir)).toEqual([]);
  });

  describe('a harness process that dies', () => {
    let build: string;

    beforeAll(async () => {
      // A plain-node copy of the harness for the child process (vitest is what compiles TS here).
      build = makeTempDir('tsc');
      await run('npx', [
        'tsc',
        '--outDir',
        build,
        '--rootDir',
        '.',
        '--module',
        'nodenext',
        '--target',
        'es2022',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--types',
        'node',
        'scripts/harness/index.ts',
      ]);
      symlinkSync(join(process.cwd(), 'node_modules'), join(build, 'node_modules'));
      symlinkSync(join(process.cwd(), 'package.json'), join(build, 'package.json'));
    }, 60_000);

    afterAll(() => {
      if (build) releaseDir(build);
    });

    interface Started {
      child: ChildProcess;
      ownerFile: string;
      children: number[];
      dirs: string[];
    }

    async function startChild(): Promise<Started> {
      const script = `
        import { startSandbox, ownerRecordPath } from './scripts/harness/index.js';
        import { readFileSync } from 'node:fs';
        const sb = await startSandbox();
        console.log(JSON.stringify({ file: ownerRecordPath(), record: JSON.parse(readFileSync(ownerRecordPath(), 'utf8')) }));
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: build,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const { file, record } = JSON.parse(line) as {
        file: string;
        record: { children: { pid: number }[]; dirs: string[] };
      };
      return { child, ownerFile: file, children: record.children.map((c) => c.pid), dirs: record.dirs };
    }

    it('SIGTERM: its handlers kill the services and remove the dirs', async () => {
      const s = await startChild();
      expect(s.children.length).toBe(2);
      expect(s.children.every(alive)).toBe(true);
      s.child.kill('SIGTERM');
      await new Promise((r) => s.child.once('exit', r));
      expect(await waitFor(() => !s.children.some(alive))).toBe(true);
      for (const dir of s.dirs) {
        expect(existsSync(dir)).toBe(false);
        expect(mountsUnder(dir)).toEqual([]);
      }
      expect(existsSync(s.ownerFile)).toBe(false);
    });

    it('SIGKILL: the kernel kills the services (pdeathsig); reapStrays() removes dirs and mounts', async () => {
      const s = await startChild();
      const podDir = s.dirs.find((d) => d.includes('/pod-'))!;
      s.child.kill('SIGKILL');
      await new Promise((r) => s.child.once('exit', r));
      expect(await waitFor(() => !s.children.some(alive))).toBe(true);
      // No handler ran: the dirs and Podman's mount are still there, and the owner record says whose.
      expect(existsSync(podDir)).toBe(true);
      expect(mountsUnder(podDir).length).toBeGreaterThan(0);
      expect(existsSync(s.ownerFile)).toBe(true);
      expect(reapStrays()).toBeGreaterThanOrEqual(1);
      for (const dir of s.dirs) {
        expect(existsSync(dir)).toBe(false);
        expect(mountsUnder(dir)).toEqual([]);
      }
      expect(existsSync(s.ownerFile)).toBe(false);
    });
  });
});
