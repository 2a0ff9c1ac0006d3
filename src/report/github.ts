/**
 * GitHub Actions (GITHUB_ACTIONS=true): the first failures as `::error` workflow commands, which
 * the run's page shows as annotations, and the summary as Markdown appended to
 * $GITHUB_STEP_SUMMARY, which the job's summary page shows.
 *
 * Escaping, as the runner parses commands (actions/toolkit, packages/core/src/command.ts): in the
 * message, % CR LF become %25 %0D %0A; in a property (title=...) also : and , become %3A %2C.
 */
import { SUMMARY_HEADER, summaryNotes, summaryRows, totalsLine } from '../progress/summary.js';
import { runProblems, type RunEnd, type RunRecord } from './run-record.js';

/** GitHub shows at most 10 error annotations of a step; more are lost, so more are not sent. */
export const MAX_ANNOTATIONS = 10;
/** Failed items listed in the step summary. */
const SUMMARY_FAILURES = 20;
/** A traceback's last lines are the ones that say what went wrong. */
const TRACEBACK_LINES = 12;

export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function errorCommand(title: string, message: string): string {
  return `::error title=${escapeProperty(title)}::${escapeData(message)}`;
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** The `::error` lines: problems of the run first, then the first failed items; at most MAX_ANNOTATIONS. */
export function annotations(record: RunRecord, end: RunEnd, output: string): string[] {
  const lines = runProblems(record, end, output).map((problem) => errorCommand(`gpu-orchestrate: ${problem.name}`, problem.detail && problem.detail !== problem.message ? `${problem.message}\n${lastLines(problem.detail, TRACEBACK_LINES)}` : problem.message));
  for (const item of record.failedItems) {
    if (lines.length >= MAX_ANNOTATIONS) break;
    const error = item.error ?? { type: 'Error', message: '', traceback: '' };
    const traceback = error.traceback ? `\n${lastLines(error.traceback, TRACEBACK_LINES)}` : '';
    lines.push(errorCommand(`gpu-orchestrate: item ${item.id} failed on ${item.device} (${error.type})`, `${error.message}${traceback}`));
  }
  return lines.slice(0, MAX_ANNOTATIONS);
}

/** A Markdown table cell: no line breaks, no column separators, no HTML. */
function cell(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
}

function table(header: string[], rows: string[][], rightAligned: (column: number) => boolean = () => false): string[] {
  const line = (row: string[]) => `| ${row.map(cell).join(' | ')} |`;
  return [line(header), `|${header.map((_, column) => (rightAligned(column) ? '---:' : '---')).join('|')}|`, ...rows.map(line)];
}

/** The step summary: the verdict, the per-device table and totals, what went wrong. */
export function stepSummary(record: RunRecord, end: RunEnd, output: string, now: number): string {
  const lines = [`### gpu-orchestrate: exit ${end.exitCode}`, ''];
  const stats = record.stats;
  if (stats) lines.push(...table(SUMMARY_HEADER, summaryRows(stats, now), (column) => column > 0), '', cell(totalsLine(stats, now)), ...summaryNotes(stats).map((note) => `- ${cell(note)}`), '');
  const problems = runProblems(record, end, output);
  if (problems.length > 0) lines.push('**What went wrong**', '', ...problems.map((problem) => `- **${cell(problem.name)}**: ${cell(problem.message)}`), '');
  if (record.failedCount > 0) {
    const shown = record.failedItems.slice(0, SUMMARY_FAILURES);
    lines.push(`**Failed items** (${shown.length} of ${record.failedCount} shown; all are in ${cell(output)} with "ok": false)`, '');
    lines.push(...table(['item', 'device', 'error', 'message'], shown.map((item) => [item.id, item.device, item.error?.type ?? '', item.error?.message ?? ''])), '');
  }
  return `${lines.join('\n')}\n`;
}
