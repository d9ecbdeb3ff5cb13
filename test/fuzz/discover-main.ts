// Runs discoverRoot on each root given on the command line and prints the results as JSON. Used by
// the fuzz tests to run discovery in a child process under strace (from the sandbox's transpiled copy).
// A stat of BEGIN_MARK and END_MARK (paths that do not exist) brackets discovery in the trace, so the
// test can tell discovery's file accesses from Node's own start-up.
import { statSync } from 'node:fs';

import { discoverRoot } from '../../src/discovery/discover-root.js';
import { BEGIN_MARK, END_MARK } from './trace-marks.js';

function mark(path: string): void {
  try {
    statSync(path);
  } catch {
    // Expected: the marker exists only as a line in the trace.
  }
}

const results = [];
mark(BEGIN_MARK);
for (const root of process.argv.slice(2)) results.push(await discoverRoot(root));
mark(END_MARK);
process.stdout.write(JSON.stringify(results));
