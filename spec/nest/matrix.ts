/**
 * The platform × Nest version × scenario matrix the nest runs print, with pass counts.
 */

/** One scenario's outcome on one platform and Nest version. */
export interface MatrixRow {
  readonly platform: string;
  readonly nest: string;
  readonly scenario: string;
  readonly passed: boolean;
}

/**
 * A text table: a line per scenario, a column per platform and Nest version (✓ or ✗), then the
 * pass count of each column.
 */
export function formatMatrix(rows: readonly MatrixRow[]): string {
  const columns = [...new Set(rows.map((row) => `${row.platform} · Nest ${row.nest}`))];
  const scenarios = [...new Set(rows.map((row) => row.scenario))];
  const cell = (scenario: string, column: string): string => {
    const row = rows.find((candidate) => candidate.scenario === scenario && `${candidate.platform} · Nest ${candidate.nest}` === column);
    return row === undefined ? '-' : row.passed ? '✓' : '✗';
  };
  const lines = [`| scenario | ${columns.join(' | ')} |`, `|---|${columns.map(() => ':-:').join('|')}|`];
  for (const scenario of scenarios) lines.push(`| ${scenario} | ${columns.map((column) => cell(scenario, column)).join(' | ')} |`);
  const counts = columns.map((column) => {
    const inColumn = rows.filter((row) => `${row.platform} · Nest ${row.nest}` === column);
    return `${inColumn.filter((row) => row.passed).length}/${inColumn.length}`;
  });
  lines.push(`| **passed** | ${counts.join(' | ')} |`);
  return lines.join('\n');
}
