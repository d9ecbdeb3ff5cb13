// The tables of bound-images (list, jobs): aligned columns under a heading line, two spaces between
// columns, the last column not padded; with --no-legend the heading line and the "nothing here" line
// are left out, so scripts read rows only (as systemctl's --no-legend).

export interface TableOptions {
  /** Print the column headings, and `empty` when there are no rows (the default). */
  legend: boolean;
  /** The line printed instead of an empty table when the legend is on, e.g. `no bound images`. */
  empty: string;
}

export function formatTable(
  headings: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions,
): string {
  if (rows.length === 0) return opts.legend ? `${opts.empty}\n` : '';
  const lines = opts.legend ? [headings, ...rows] : rows;
  const last = headings.length - 1;
  const widths = headings.map((_, i) => Math.max(...lines.map((cells) => (cells[i] ?? '').length)));
  return (
    lines
      .map((cells) =>
        headings
          .map((_, i) => (i < last ? (cells[i] ?? '').padEnd(widths[i] ?? 0) : (cells[i] ?? '')))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
