// What `bound-images check` reports: findings of three severities per bound-images.d entry (or per
// root), the report of a run, and how a report maps to the command's exit status.

/**
 * `error`: discovery refuses the entry (the daemon does not bind it; bootc's query fails on most
 * of these too). `bootc`: bound-imaged binds it, but `bootc upgrade` would refuse the entry or
 * resolve it to something else. `warning`: both bind it, but something will not work as meant
 * (a consumer that pulls its own copy, a value that is ignored).
 */
export type Severity = 'error' | 'bootc' | 'warning';

export interface Finding {
  severity: Severity;
  /** A stable name of the rule, for scripts: `invalid`, `auth-file`, `raw-name`, … */
  rule: string;
  /** Root-absolute path of the file the finding is about, when there is one. */
  file?: string;
  /** 1-based line in `file`, when the finding is about one line. */
  line?: number;
  message: string;
}

export interface EntryReport {
  /** Name in usr/lib/bootc/bound-images.d. */
  entry: string;
  /** The normalized reference bound-imaged binds; absent when discovery refused the entry. */
  reference?: string;
  /** The Quadlet file the image comes from; absent when discovery refused the entry. */
  sourceFile?: string;
  findings: Finding[];
}

export interface RootReport {
  /** The root as a host path. */
  root: string;
  /** False when the root or its bound-images.d could not be read: what it binds is unknown. */
  readable: boolean;
  /** Problems with the root itself (no entry). */
  findings: Finding[];
  /** Every entry, in the order of their names. */
  entries: EntryReport[];
}

export interface CheckSummary {
  entries: number;
  errors: number;
  bootc: number;
  warnings: number;
}

export interface CheckReport {
  roots: RootReport[];
  summary: CheckSummary;
}

/** Exit status of `bound-images check`: 0 clean, 1 any error, 4 no error but findings. */
export const CheckExit = { Clean: 0, Errors: 1, Findings: 4 } as const;
export type CheckExitValue = (typeof CheckExit)[keyof typeof CheckExit];

/** Counts the findings of every root and entry. */
export function summarize(roots: readonly RootReport[]): CheckSummary {
  const summary: CheckSummary = { entries: 0, errors: 0, bootc: 0, warnings: 0 };
  for (const root of roots) {
    summary.entries += root.entries.length;
    const all = [...root.findings, ...root.entries.flatMap((e) => e.findings)];
    for (const f of all) {
      if (f.severity === 'error') summary.errors++;
      else if (f.severity === 'bootc') summary.bootc++;
      else summary.warnings++;
    }
  }
  return summary;
}

/** 1 when anything is an error; else 4 when there is any bootc-incompatible finding or warning; else 0. */
export function exitStatusOf(summary: CheckSummary): CheckExitValue {
  if (summary.errors > 0) return CheckExit.Errors;
  if (summary.bootc > 0 || summary.warnings > 0) return CheckExit.Findings;
  return CheckExit.Clean;
}
