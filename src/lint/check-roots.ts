// `bound-images check` without its command line: runs discovery on each root (no daemon, no bus,
// no Podman: only the root's files are read) and turns every entry into a report of findings —
// what discovery refuses, what bootc would refuse or read differently, what the consumers miss.
import { inspectRoot, type DiscoveryLimits } from '../discovery/index.js';
import type { DiscoveryError } from '../types.js';
import { bootcFindings } from './bootc-rules.js';
import { consumerFindings } from './consumer-rules.js';
import { summarize, type CheckReport, type EntryReport, type Finding, type RootReport } from './findings.js';

function errorFinding(e: DiscoveryError): Finding {
  return {
    severity: 'error',
    rule: 'invalid',
    ...(e.file !== undefined ? { file: e.file } : {}),
    ...(e.line !== undefined ? { line: e.line } : {}),
    message: e.message,
  };
}

/** The fields in reading order (JSON output): entry, reference, source file, findings. */
function ordered(e: EntryReport): EntryReport {
  return {
    entry: e.entry,
    ...(e.reference !== undefined ? { reference: e.reference } : {}),
    ...(e.sourceFile !== undefined ? { sourceFile: e.sourceFile } : {}),
    findings: e.findings,
  };
}

/** Byte order of the UTF-8 names, as discovery lists entries. */
function byName(a: EntryReport, b: EntryReport): number {
  return Buffer.compare(Buffer.from(a.entry), Buffer.from(b.entry));
}

/** Check one root (a host directory holding a deployment or an unpacked image). */
export async function checkRoot(root: string, limits?: Partial<DiscoveryLimits>): Promise<RootReport> {
  const { discovery, specs } = await inspectRoot(root, limits);
  const report: RootReport = {
    root: discovery.root,
    readable: discovery.readable,
    findings: [],
    entries: [],
  };
  const byEntry = new Map<string, EntryReport>();
  const entryOf = (name: string): EntryReport => {
    let entry = byEntry.get(name);
    if (entry === undefined) {
      entry = { entry: name, findings: [] };
      byEntry.set(name, entry);
    }
    return entry;
  };
  for (const error of discovery.errors) {
    if (error.entry === undefined) report.findings.push(errorFinding(error));
    else entryOf(error.entry).findings.push(errorFinding(error));
  }
  for (const image of discovery.images) {
    const entry = entryOf(image.entry);
    entry.reference = image.reference;
    entry.sourceFile = image.sourceFile;
    const spec = specs.get(image.entry);
    if (spec === undefined) continue;
    entry.findings.push(...bootcFindings(spec, image.reference), ...consumerFindings(spec, image.reference));
  }
  report.entries = [...byEntry.values()].sort(byName).map(ordered);
  return report;
}

/** Check every root, one after the other, in the order given. */
export async function checkRoots(
  roots: readonly string[],
  limits?: Partial<DiscoveryLimits>,
): Promise<CheckReport> {
  const reports: RootReport[] = [];
  for (const root of roots) reports.push(await checkRoot(root, limits));
  return { roots: reports, summary: summarize(reports) };
}
