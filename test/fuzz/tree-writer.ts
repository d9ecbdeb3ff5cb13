// Writing one hostile root: files, links (names may be raw bytes), FIFOs, unix sockets (kept
// listening until close), character devices (as root; FIFOs otherwise), and decoys planted where an
// escaping link lands inside the root. Paths are root-absolute.
import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';

import { inRootTarget, type EscapeForm, type Special } from './tree-plan.js';

export const IS_ROOT = process.getuid?.() === 0;

/** Writes one root. */
export class RootWriter {
  readonly specials: string[] = [];
  readonly servers: Server[] = [];
  /** In-root paths of planted decoys (files) and decoy drop-in directories. */
  readonly decoys = new Set<string>();
  readonly names = new Set<string>();
  readonly escapes: string[] = [];

  constructor(readonly root: string) {}

  host(path: string): string {
    return join(this.root, path);
  }

  async file(path: string, content: string): Promise<void> {
    await mkdir(dirname(this.host(path)), { recursive: true });
    await writeFile(this.host(path), content);
  }

  async link(path: string, target: string | Buffer, name?: Buffer): Promise<void> {
    await mkdir(dirname(this.host(path)), { recursive: true });
    const at =
      name === undefined
        ? this.host(path)
        : Buffer.concat([Buffer.from(`${this.host(dirname(path))}/`), name]);
    await symlink(target, at);
  }

  async special(path: string, what: Special | 'regular'): Promise<void> {
    const host = this.host(path);
    await mkdir(dirname(host), { recursive: true });
    if (what === 'directory') return void (await mkdir(host, { recursive: true }));
    if (what === 'regular') return writeFile(host, '[Image]\nImage=fuzz.invalid/regular\n');
    this.specials.push(host);
    if (what === 'socket') {
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(host, resolve));
      this.servers.push(server);
    } else if (what === 'chardev' && IS_ROOT) {
      execFileSync('mknod', [host, 'c', '1', '5']);
    } else {
      execFileSync('mkfifo', [host]);
    }
  }

  /**
   * Record `path` (root-absolute, read through a link written as `target` in `linkDir`) as reaching a
   * sentinel when followed on the host, for the forms that do so from any directory.
   */
  escape(path: string, linkDir: string, how: EscapeForm): void {
    const depth = this.host(linkDir).split('/').filter(Boolean).length;
    const reaches =
      how.form === 'host-absolute' ||
      how.form === 'root-dotdot' ||
      how.form === 'proc-cwd' ||
      (how.form === 'proc-root' && how.via !== '1') ||
      (how.form === 'dotdot' && how.ups >= depth);
    if (reaches) this.escapes.push(this.host(path));
  }

  /** Plant a decoy where `target`, written in `linkDir`, lands inside the root. */
  async decoy(linkDir: string, target: string, content: string): Promise<string> {
    const { path, dirs } = inRootTarget(linkDir, target);
    for (const dir of dirs) await mkdir(this.host(dir), { recursive: true });
    if (content === '') await mkdir(this.host(path), { recursive: true });
    else await this.file(path, content);
    this.decoys.add(path);
    return path;
  }

  /**
   * Where `target`, written in `linkDir`, lands inside the root if a decoy waits there and every
   * directory on the way is a real directory; undefined otherwise. Asked once the whole root is built:
   * another entry may have planted a decoy at the same landing without the directories this route
   * passes through (`/proc/self/cwd/../../..` and `/` end at the same place only if `/proc/self/cwd`
   * exists in the root).
   */
  reaches(linkDir: string, target: string): string | undefined {
    const { path, dirs } = inRootTarget(linkDir, target);
    if (!this.decoys.has(path)) return undefined;
    for (const dir of dirs)
      if (lstatSync(this.host(dir), { throwIfNoEntry: false })?.isDirectory() !== true) return undefined;
    return path;
  }
}
