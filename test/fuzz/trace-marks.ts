// Paths that never exist, stat-ed just before and just after discovery by discover-main.ts, so that a
// strace log shows where discovery's own file accesses begin and end.
export const BEGIN_MARK = '/.bound-imaged-fuzz-begin';
export const END_MARK = '/.bound-imaged-fuzz-end';
