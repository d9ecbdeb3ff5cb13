// Benchmark: discovery of one root holding 1,000 bound entries (a mix of .image files, .container
// files, .container → .image references, and units with drop-ins). Prints the median of several
// runs as `bench discovery-1000: ours=<median>ms`; for comparison over time, not a timed test.
import { performance } from 'node:perf_hooks';

import { BOUND_IMAGES_DIR, discoverRoot } from '../src/discovery/index.js';
import { makeTempRoot, removeTree, writeTree, type TreeNode } from './harness/tree-fixture.js';
import { messageOf } from '../src/errors.js';

const ENTRIES = 1000;
const WARM_UP_RUNS = 2;
const MEASURED_RUNS = 9;
const UNITS = '/usr/share/containers/systemd';

/** Entry i: 4 in 10 are .image, 3 plain .container, 2 .container → .image, 1 in 10 has drop-ins. */
function addEntry(tree: Record<string, TreeNode>, i: number): void {
  const image = `quay.io/bench/app-${i}:v${i % 7}`;
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      tree[`${UNITS}/img-${i}.image`] =
        `[Unit]\nDescription=bench ${i}\n\n[Image]\nImage=${image}\nArch=amd64\n`;
      tree[`${BOUND_IMAGES_DIR}/img-${i}.image`] = { symlink: `${UNITS}/img-${i}.image` };
      return;
    case 4:
    case 5:
    case 6:
      tree[`${UNITS}/ctr-${i}.container`] = `[Container]\nImage=${image}\nExec=/bin/app \\\n  --serve\n`;
      tree[`${BOUND_IMAGES_DIR}/ctr-${i}.container`] = {
        symlink: `../../../share/containers/systemd/ctr-${i}.container`,
      };
      return;
    case 7:
    case 8:
      tree[`${UNITS}/ref-${i}.image`] = `[Image]\nImage=${image}\n`;
      tree[`${UNITS}/ref-${i}.container`] = `[Container]\nImage=ref-${i}.image\n`;
      tree[`${BOUND_IMAGES_DIR}/ref-${i}.container`] = { symlink: `${UNITS}/ref-${i}.container` };
      return;
    default:
      tree[`${UNITS}/drop-${i}.image`] = `[Image]\nImage=quay.io/bench/old-${i}\n`;
      tree[`${UNITS}/drop-${i}.image.d/10-arch.conf`] = '[Image]\nArch=arm64\n';
      tree[`${UNITS}/drop-${i}.image.d/50-pin.conf`] = `[Image]\nImage=${image}\n`;
      tree[`${BOUND_IMAGES_DIR}/drop-${i}.image`] = { symlink: `${UNITS}/drop-${i}.image` };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function main(): Promise<void> {
  const root = await makeTempRoot('bench');
  try {
    const tree: Record<string, TreeNode> = {};
    for (let i = 0; i < ENTRIES; i++) addEntry(tree, i);
    await writeTree(root, tree);

    const times: number[] = [];
    for (let run = 0; run < WARM_UP_RUNS + MEASURED_RUNS; run++) {
      const start = performance.now();
      const result = await discoverRoot(root);
      const elapsed = performance.now() - start;
      if (result.images.length !== ENTRIES || result.errors.length > 0) {
        const first = result.errors[0];
        throw new Error(
          `discovery found ${result.images.length} images and ${result.errors.length} errors, expected ${ENTRIES} and 0` +
            (first === undefined ? '' : ` (first: ${first.entry ?? ''}: ${first.message})`),
        );
      }
      if (run >= WARM_UP_RUNS) times.push(elapsed);
    }
    console.log(`runs (ms): ${times.map((t) => t.toFixed(1)).join(' ')}`);
    console.log(`bench discovery-${ENTRIES}: ours=${median(times).toFixed(1)}ms`);
  } finally {
    await removeTree(root);
  }
}

main().catch((error: unknown) => {
  console.error(messageOf(error));
  process.exitCode = 1;
});
