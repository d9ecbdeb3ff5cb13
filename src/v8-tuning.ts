// How V8 runs the daemon: a long-lived process that is idle nearly all the time, whose work is waiting
// on D-Bus, the Podman socket and the file system. Two V8 defaults suit a busy server instead, and
// each costs resident memory that stays after the first reconcile (docs/performance.md, "Memory
// while running"):
//   - the young generation grows from 1 MB to 16 MB per semi-space under allocation and keeps its
//     pages: `--semi-space-growth-factor=1` keeps it at its initial size (as `--max-semi-space-size=1`
//     would, which V8 only reads at start);
//   - TurboFan, the optimizing compiler, compiles hot functions on a background thread: its code and
//     data are ~4 MB of RSS, and a reconcile has no loop hot enough to repay it (`--no-opt`; the
//     interpreter and the baseline compiler stay).
// Applied once, before the daemon's modules load. Flags given on node's own command line or in
// NODE_OPTIONS win: an operator may put `--opt` back.
import { setFlagsFromString } from 'node:v8';

export const DAEMON_V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--no-opt'];

/** The flag's name without dashes, `no-` and value: `--no-opt` → `opt`. */
function flagName(flag: string): string {
  return flag.replace(/^--/, '').replace(/=.*$/, '').replace(/^no-/, '').replace(/_/g, '-');
}

/** The flags of DAEMON_V8_FLAGS that node's command line and NODE_OPTIONS do not already set. */
export function flagsToApply(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = new Set(
    [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName),
  );
  return DAEMON_V8_FLAGS.filter((f) => !given.has(flagName(f)));
}

/** Apply the daemon's V8 flags to this process; returns those applied. */
export function tuneV8(): string[] {
  const flags = flagsToApply(process.execArgv, process.env.NODE_OPTIONS);
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
