// `bound-images check`: the offline lint on the command line. The rules live in src/lint/ (discovery
// plus what bootc and the consumers would do differently); this file only runs them on the roots and
// prints the report, as lines or as one JSON document. No bus, no daemon, no Podman.
import type { CheckRequest } from './args.js';
import type { ExitCodeValue } from './cli-error.js';
import { jsonDocument } from './format.js';
import type { Output } from './reporters.js';
import type { CheckReport, CheckSummary, Finding, RootReport } from '../lint/index.js';

const LABEL = { error: 'error', bootc: 'bootc', warning: 'warning' } as const;

function where(f: Finding): string {
  if (f.file === undefined) return '';
  return f.line === undefined ? `${f.file}: ` : `${f.file}:${f.line}: `;
}

function findingLine(subject: string, f: Finding): string {
  return `  ${LABEL[f.severity].padEnd(8)} ${subject}: ${where(f)}${f.message}\n`;
}

function formatRoot(root: RootReport): string {
  let text = `${root.root}\n`;
  for (const f of root.findings) text += findingLine('(root)', f);
  if (root.readable && root.entries.length === 0) text += '  no bound images\n';
  for (const entry of root.entries) {
    if (entry.findings.length === 0) text += `  ${'ok'.padEnd(8)} ${entry.entry}: ${entry.reference ?? ''}\n`;
    for (const f of entry.findings) text += findingLine(entry.entry, f);
  }
  return text;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `2 entries: 1 error, 1 bootc-incompatible, 0 warnings`. */
export function summaryLine(s: CheckSummary): string {
  return `${plural(s.entries, 'entry', 'entries')}: ${plural(s.errors, 'error')}, ${s.bootc} bootc-incompatible, ${plural(s.warnings, 'warning')}\n`;
}

/** The report as text: per root its path, then one line per finding (or `ok` for a clean entry). */
export function formatCheck(report: CheckReport): string {
  return report.roots.map(formatRoot).join('') + summaryLine(report.summary);
}

export async function runCheck(request: CheckRequest, out: Output): Promise<ExitCodeValue> {
  const lint = await import('../lint/index.js');
  const report = await lint.checkRoots(request.roots);
  const exitCode = lint.exitStatusOf(report.summary);
  out.write(request.json ? jsonDocument({ ...report, exitCode }) : formatCheck(report));
  return exitCode;
}
