// Temporary root trees for the discovery tests and the discovery benchmark: files, symbolic links
// and directories written under a fresh directory in os.tmpdir(), keyed by root-absolute path.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A file's text, a symbolic link (target written as given), or an empty directory. */
export type TreeNode = string | { symlink: string } | { dir: true };

/** A new empty directory under os.tmpdir(). */
export function makeTempRoot(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `bound-imaged-${label}-`));
}

/** Write `tree` (root-absolute path → node) under host directory `root`, creating parents. */
export async function writeTree(root: string, tree: Record<string, TreeNode>): Promise<void> {
  for (const [rootPath, node] of Object.entries(tree)) {
    const host = join(root, rootPath);
    if (typeof node === 'object' && 'dir' in node) {
      await mkdir(host, { recursive: true });
      continue;
    }
    await mkdir(dirname(host), { recursive: true });
    if (typeof node === 'string') await writeFile(host, node);
    else await symlink(node.symlink, host);
  }
}

export function removeTree(root: string): Promise<void> {
  return rm(root, { recursive: true, force: true });
}
