/** Plain-text tables for the terminal and the README. */

/**
 * @param {string[]} header
 * @param {Array<Array<string | number>>} rows
 */
export function table(header, rows) {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const fmtInt = (n) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
export const fmtPct = (n) => (n === null || n === undefined ? '-' : `${Math.round(n)}%`);
export const fmtMs = (n) => (n === null || n === undefined ? '-' : String(Math.round(n)));
export const fmtRatio = (x) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}×`);
export const fmtKB = (bytes) => (bytes === null || bytes === undefined ? '-' : `${(bytes / 1024).toFixed(1)} KB`);
