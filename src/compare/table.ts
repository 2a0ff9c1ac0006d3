/** compare's table of differences: short, so a CI log shows it whole. */
import type { Difference } from './values.js';

/** Rows shown; the rest are counted. */
export const TABLE_ROWS = 20;
const CELL_WIDTH = 40;

function error(value: number | undefined): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return String(value);
  return value === 0 ? '0' : value.toExponential(2);
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > CELL_WIDTH ? `${flat.slice(0, CELL_WIDTH - 3)}...` : flat;
}

export function differenceTable(differences: Difference[]): string {
  const header = ['id', 'field', 'expected', 'got', 'max abs err', 'max rel err'];
  const rows = differences.slice(0, TABLE_ROWS).map((difference) => [difference.id, difference.field, difference.expected, difference.got, error(difference.maxAbs), error(difference.maxRel)].map(clip));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  const lines = [format(header), ...rows.map(format)];
  if (differences.length > TABLE_ROWS) lines.push(`... and ${differences.length - TABLE_ROWS} more difference(s)`);
  return lines.join('\n');
}
