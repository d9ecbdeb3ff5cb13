#!/usr/bin/env node
// `npm run demo`: bound-imaged's main job, end to end, in a sandbox on loopback and in temp dirs —
// loopback registries with generated images, a Podman API service on a temporary bound store, a
// private system bus, a private journald; a sample deployment root; the daemon and its client doing an
// upgrade, a listing, a second Podman reading the store, an unbind followed by GC; the daemon's log;
// and a teardown that leaves no process, temp dir or mount — on success, failure and Ctrl-C.
// The steps are in scripts/demo/steps.ts; this module owns arguments, teardown and exit codes.
import { messageOf, stackOf } from '../src/errors.js';
import { performance } from 'node:perf_hooks';
import { cleanupSync } from './harness/cleanup.js';
import { Output } from './demo/output.js';
import { runDemo, type DemoParts } from './demo/steps.js';
import { findLeftovers, processNames, takeFootprint, type Footprint } from './demo/teardown.js';

const USAGE = `usage: npm run demo [-- --keep]
       node dist/scripts/demo.js [--keep]

Runs bound-imaged's main job in a throwaway sandbox on loopback and temp dirs, then
removes everything it started. Needs root and the packages scripts/setup.sh installs.

options:
  --keep      leave the sandbox up at the end and print commands to try against it;
              Ctrl-C (or SIGTERM) then tears it down
  -h, --help  show this help and exit
`;

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function parseArgs(argv: string[]): { keep: boolean } | 'help' | string {
  let keep = false;
  for (const arg of argv) {
    if (arg === '--keep') keep = true;
    else if (arg === '-h' || arg === '--help') return 'help';
    else return `unknown argument '${arg}'`;
  }
  return { keep };
}

const out = new Output();
const started = performance.now();
const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1);

/** Prints what was stopped and checks nothing is left; returns false when something is. */
function reportTeardown(fp: Footprint): boolean {
  const left = findLeftovers(fp);
  const names = processNames(fp);
  out.say(
    `stopped ${fp.processes.length} processes${names.length ? ` (${names.join(', ')})` : ''}, ` +
      `removed ${fp.dirs.length} temp dirs`,
  );
  const problems = [
    ...left.processes.map((p) => `process still running: ${p}`),
    ...left.dirs.map((d) => `temp dir still there: ${d}`),
    ...left.mounts.map((m) => `still mounted: ${m}`),
  ];
  if (problems.length === 0) {
    out.say('checked: no process, temp dir or mount of the demo is left');
    return true;
  }
  for (const p of problems) process.stderr.write(`demo: teardown: ${p}\n`);
  return false;
}

/** Stops everything in order (daemon first), then the harness's sweep for anything missed. */
async function stopAll(parts: DemoParts): Promise<void> {
  const { daemon, consumer, sandbox, bus, journald } = parts;
  const steps: [string, (() => Promise<void>) | undefined][] = [
    ['bound-imaged', daemon && (() => daemon.stop('SIGTERM', 5000))],
    ['consumer', consumer && (() => consumer.stop())],
    ['sandbox', sandbox && (() => sandbox.stop())],
    ['bus', bus && (() => bus.stop())],
    ['journald', journald && (() => journald.stop())],
  ];
  for (const [what, stop] of steps) {
    try {
      await stop?.();
    } catch (e) {
      process.stderr.write(`demo: stopping ${what}: ${messageOf(e)}\n`);
    }
  }
  cleanupSync();
}

/** Ctrl-C, SIGTERM or SIGHUP: everything is killed and removed now, synchronously (the harness's sweep). */
function installSignalTeardown(isKeeping: () => boolean): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    const keeping = isKeeping();
    if (keeping) out.heading(8, `Teardown (${signal})`);
    else out.heading(null, `Interrupted (${signal}): tearing down`);
    const fp = takeFootprint();
    cleanupSync();
    const clean = reportTeardown(fp);
    out.say(`demo ${keeping ? 'ended' : 'interrupted'} after ${seconds()} s`);
    process.exit(!clean ? EXIT_FAILURE : keeping ? EXIT_OK : EXIT_INTERRUPTED);
  };
  // Registered before the harness makes anything, so these run before (and instead of) its own hooks.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (typeof args === 'string') {
    process.stderr.write(`demo: ${args}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo: needs root (private mounts, Podman store, journald); run it as root\n');
    return EXIT_FAILURE;
  }
  let keeping = false;
  installSignalTeardown(() => keeping);

  const parts: DemoParts = {};
  try {
    await runDemo(out, parts, { keep: args.keep });
  } catch (e) {
    process.stderr.write(`\ndemo: failed: ${messageOf(e)}\n`);
    const log = parts.daemon?.stderr().trim();
    if (log) process.stderr.write(`demo: bound-imaged's stderr:\n${log}\n`);
    out.heading(null, 'Failed: tearing down');
    const fp = takeFootprint();
    await stopAll(parts);
    reportTeardown(fp);
    out.say(`demo failed after ${seconds()} s`);
    return EXIT_FAILURE;
  }

  if (args.keep) {
    keeping = true;
    out.say(`\nready after ${seconds()} s; press Ctrl-C to tear the sandbox down`);
    // Until a signal: its handler tears down and exits.
    await new Promise<never>(() => setInterval(() => undefined, 1 << 30));
  }

  out.heading(7, 'Teardown');
  const fp = takeFootprint();
  await stopAll(parts);
  const clean = reportTeardown(fp);
  out.say(`demo ${clean ? 'finished' : 'FAILED (teardown)'} in ${seconds()} s`);
  return clean ? EXIT_OK : EXIT_FAILURE;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`demo: ${stackOf(e)}\n`);
    cleanupSync();
    process.exitCode = EXIT_FAILURE;
  },
);
