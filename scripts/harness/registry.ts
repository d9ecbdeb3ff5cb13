// A real OCI registry for tests: Debian's `docker-registry serve CONFIG.yml` (distribution 2.8) on
// 127.0.0.1:<free port>, filesystem storage in a temp dir, optionally behind htpasswd basic auth.
// Its access log (Apache combined format, on stdout) goes to a file that requests() parses, so tests
// can count manifest and blob GETs from the registry's own point of view.
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from './cleanup.js';
import { httpRequest } from './http.js';
import type { ServiceProcess } from './proc.js';
import { freePort, run, spawnService, waitUntil } from './proc.js';

export interface RegistryCredentials {
  user: string;
  password: string;
}

export interface RegistryOptions {
  htpasswd?: RegistryCredentials;
}

export interface RegistryRequest {
  method: string;
  /** Request path with query, e.g. `/v2/app/manifests/latest`. */
  path: string;
  status: number;
}

export interface Registry {
  /** `127.0.0.1:PORT`: the registry part of image references. */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Temp dir holding config, storage and logs. */
  readonly dir: string;
  /** The credentials it demands, when started with htpasswd. */
  readonly auth?: RegistryCredentials;
  /** Every request the registry logged so far, in order (waits for the log to settle first). */
  requests(): Promise<RegistryRequest[]>;
  /** Kills the registry process, keeping its port and data (an outage). */
  down(): Promise<void>;
  /** Starts it again after down(), on the same port with the same data. */
  up(): Promise<void>;
  isUp(): boolean;
  /** Stops it for good and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) /;

export function parseAccessLog(text: string): RegistryRequest[] {
  const out: RegistryRequest[] = [];
  for (const line of text.split('\n')) {
    const m = ACCESS_LINE.exec(line);
    if (m?.[1] && m[2] && m[3]) out.push({ method: m[1], path: m[2], status: Number(m[3]) });
  }
  return out;
}

function configYaml(dir: string, port: number, htpasswdFile?: string): string {
  const auth = htpasswdFile
    ? `auth:\n  htpasswd:\n    realm: bound-imaged-test\n    path: ${htpasswdFile}\n`
    : '';
  return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: bound-imaged-test-secret
${auth}`;
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path).catch(() => ({ size: 0 }))).size;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const dir = makeTempDir('reg', { tmpfs: true });
  try {
    let htpasswdFile: string | undefined;
    if (opts.htpasswd) {
      htpasswdFile = join(dir, 'htpasswd');
      const { stdout } = await run('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
      await writeFile(htpasswdFile, stdout.trim() + '\n');
    }
    const accessLog = join(dir, 'access.log');
    const errorLog = join(dir, 'registry.log');
    const configFile = join(dir, 'config.yml');

    let port = 0;
    let proc: ServiceProcess | undefined;
    let stopped = false;

    const launch = async (): Promise<void> => {
      const p = spawnService('docker-registry', ['serve', configFile], {
        stdoutFile: accessLog,
        stderrFile: errorLog,
      });
      proc = p;
      const errAt = await fileSize(errorLog);
      await waitUntil(
        `docker-registry on 127.0.0.1:${port}`,
        async () => {
          const res = await httpRequest({ url: `http://127.0.0.1:${port}/v2/`, timeoutMs: 2000 });
          return res.status === 200 || res.status === 401;
        },
        {
          giveUp: () => (p.hasExited() ? `exited: ${tail(errorLog, errAt)}` : undefined),
          timeoutMs: 15_000,
        },
      );
    };

    // A port from freePort() can be taken before the registry binds it: retry with another one.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      await writeFile(configFile, configYaml(dir, port, htpasswdFile));
      try {
        await launch();
        break;
      } catch (e) {
        await proc?.stop('SIGKILL');
        if (attempt >= 3) throw e;
      }
    }

    const host = `127.0.0.1:${port}`;
    return {
      host,
      port,
      url: `http://${host}`,
      dir,
      ...(opts.htpasswd ? { auth: { ...opts.htpasswd } } : {}),
      async requests() {
        // The registry logs a request after answering it: wait until the log stops growing.
        let size = await fileSize(accessLog);
        for (let i = 0; i < 20; i++) {
          await new Promise((r) => setTimeout(r, 30));
          const now = await fileSize(accessLog);
          if (now === size) break;
          size = now;
        }
        return parseAccessLog(await readFile(accessLog, 'utf8').catch(() => ''));
      },
      async down() {
        await proc?.stop('SIGKILL');
      },
      async up() {
        if (stopped) throw new Error(`registry ${host} was stopped for good`);
        if (proc && !proc.hasExited()) return;
        await launch();
      },
      isUp: () => proc !== undefined && !proc.hasExited(),
      async stop() {
        if (stopped) return;
        stopped = true;
        await proc?.stop('SIGKILL');
        releaseDir(dir);
      },
    };
  } catch (e) {
    releaseDir(dir);
    throw e;
  }
}

/** The last lines a log file got since byte offset `from`: explains a failed start. */
function tail(file: string, from: number): string {
  try {
    return readFileSync(file, 'utf8').slice(from).trim().split('\n').slice(-5).join('\n') || '(empty log)';
  } catch {
    return '(no log)';
  }
}
