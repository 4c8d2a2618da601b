/** Plain-text tables for the terminal, Markdown tables for reports and CSV files. */

export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * A Markdown table: the first `textColumns` columns (default 1) left-aligned, the others (numbers)
 * right-aligned.
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  opts: { textColumns?: number } = {},
): string {
  const textColumns = opts.textColumns ?? 1;
  return [
    markdownRow(header),
    markdownRow(header.map((_, i) => (i < textColumns ? '---' : '---:'))),
    ...rows.map(markdownRow),
  ].join('\n');
}

/** One row of a Markdown table, for a table printed a row at a time (after `markdownTable(header, [])`). */
export function markdownRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** "0.292 ± 0.040" */
export function pm(e: { value: number; se: number } | null | undefined, digits = 3): string {
  return e ? `${e.value.toFixed(digits)} ± ${e.se.toFixed(digits)}` : '—';
}

/** One CSV field: empty for null and undefined; quoted (a quote doubled) when it holds a comma, quote or newline. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV text (RFC 4180 quoting, see csvCell): the header line, one line per row, a final newline.
 * `quoted`: indices of columns whose fields are always quoted.
 */
export function csvText(
  header: readonly string[],
  rows: readonly (readonly unknown[])[],
  opts: { quoted?: readonly number[] } = {},
): string {
  const quoted = new Set(opts.quoted ?? []);
  const field = (v: unknown, i: number) => (quoted.has(i) ? `"${String(v ?? '').replace(/"/g, '""')}"` : csvCell(v));
  return [header.join(','), ...rows.map((r) => r.map(field).join(','))].join('\n') + '\n';
}

/** CSV of records: one column per key of `header` (default: the keys of the first record). */
export function csvOfRecords(
  records: readonly object[],
  header: readonly string[] = Object.keys(records[0] ?? {}),
): string {
  return csvText(
    header,
    records.map((r) => header.map((h) => (r as Record<string, unknown>)[h])),
  );
}
