/**
 * Summary rows of evaluated images by level (instances per image), shared by the Shapes and the
 * MiniMIG evaluators: one row over every result, then one per level present, in increasing order.
 */
export function summarizeByLevel<R extends { readonly level: number }, Row>(
  results: readonly R[],
  row: (level: number | 'all', rs: readonly R[]) => Row,
): { overall: Row; levels: Row[] } {
  const levels = [...new Set(results.map((r) => r.level))].sort((a, b) => a - b);
  return {
    overall: row('all', results),
    levels: levels.map((l) =>
      row(
        l,
        results.filter((r) => r.level === l),
      ),
    ),
  };
}
