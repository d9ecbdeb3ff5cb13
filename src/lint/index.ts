// The lint module behind `bound-images check`: discovery's view of a root plus the rules on where
// bootc and the consumers of the bound store would differ. Pure logic over a directory tree.
export { checkRoot, checkRoots } from './check-roots.js';
export { bootcFindings } from './bootc-rules.js';
export { BOUND_STORE, consumerFindings, readsBoundStore, splitArgs } from './consumer-rules.js';
export {
  CheckExit,
  exitStatusOf,
  summarize,
  type CheckExitValue,
  type CheckReport,
  type CheckSummary,
  type EntryReport,
  type Finding,
  type RootReport,
  type Severity,
} from './findings.js';
