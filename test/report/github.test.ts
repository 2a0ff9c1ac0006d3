/**
 * GitHub Actions' workflow commands and step summary, built from a run's record. The escaping is
 * checked by reading a command back as the runner does (actions/runner's ActionCommand parser:
 * split on the first `::` after the properties, then unescape); the end-to-end run is in
 * test/e2e/ci-reports.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { OutputRecord } from '../../src/journal/journal.js';
import { DeviceStats, RunStats } from '../../src/progress/stats.js';
import { annotations, escapeData, escapeProperty, MAX_ANNOTATIONS, stepSummary } from '../../src/report/github.js';
import { RunRecord } from '../../src/report/run-record.js';

/** A command read back: its name, properties and message, unescaped as the runner does. */
function readCommand(line: string): { name: string; properties: Record<string, string>; message: string } {
  const match = /^::(\w+)(?: ([^:]*))?::(.*)$/s.exec(line);
  if (!match) throw new Error(`not a workflow command: ${line}`);
  const unescapeData = (text: string) => text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
  const unescapeProperty = (text: string) => unescapeData(text.replace(/%3A/g, ':').replace(/%2C/g, ','));
  const properties = Object.fromEntries((match[2] ?? '').split(',').filter(Boolean).map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), unescapeProperty(pair.slice(at + 1))];
  }));
  return { name: match[1] as string, properties, message: unescapeData(match[3] as string) };
}

function failed(id: string, message: string): OutputRecord {
  return { id, index: 0, input: id, ok: false, error: { type: 'ValueError', message, traceback: `Traceback (most recent call last):\n  File "detect.py", line 3, in infer\nValueError: ${message}` }, device: 'cpu:0', replica: 0, attempts: 1, duration: 0.1 };
}

describe('GitHub Actions workflow commands', () => {
  it('escapes data (%, CR, LF) and properties (also : and ,) as the runner documents', () => {
    expect(escapeData('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext: a, b');
    expect(escapeProperty('item a:b, c%\n')).toBe('item a%3Ab%2C c%25%0A');
  });

  it(`the first failures, at most ${MAX_ANNOTATIONS}, one line each, read back whole`, () => {
    const record = new RunRecord(false);
    const message = 'bad value: 50% of pixels, then\na second line';
    for (let index = 0; index < 25; index += 1) record.written(failed(`images/a,b:${index}.png`, message));
    const lines = annotations(record, { exitCode: 1, error: undefined }, 'out.jsonl');
    expect(lines).toHaveLength(MAX_ANNOTATIONS);
    for (const [index, line] of lines.entries()) {
      expect(line).not.toMatch(/[\r\n]/);
      const command = readCommand(line);
      expect(command.name).toBe('error');
      expect(command.properties.title).toBe(`gpu-orchestrate: item images/a,b:${index}.png failed on cpu:0 (ValueError)`);
      expect(command.message).toBe(`${message}\nTraceback (most recent call last):\n  File "detect.py", line 3, in infer\nValueError: ${message}`);
    }
  });

  it('problems of the run come first: an interrupted run says so before its failed items', () => {
    const record = new RunRecord(false);
    record.written(failed('item-1', 'boom'));
    const lines = annotations(record, { exitCode: 130, error: undefined }, 'out.jsonl').map(readCommand);
    expect(lines.map((command) => command.properties.title)).toEqual(['gpu-orchestrate: run: interrupted', 'gpu-orchestrate: item item-1 failed on cpu:0 (ValueError)']);
  });
});

describe('the step summary', () => {
  it('the per-device table and totals as Markdown, and the failed items with cells escaped', () => {
    const devices = [new DeviceStats('cpu:0', 1, 8), new DeviceStats('cpu:1', 2, 8)];
    devices[0]!.done = 7;
    devices[0]!.failed = 1;
    devices[1]!.done = 4;
    const record = new RunRecord(false);
    const stats = new RunStats(12, devices);
    stats.failuresByReason.set('ValueError', 1);
    record.watch(stats);
    record.written(failed('a|b<c>', 'pipe | in\nmessage'));
    const markdown = stepSummary(record, { exitCode: 1, error: undefined }, 'out.jsonl', stats.startedAt + 4000);
    const lines = markdown.split('\n');
    expect(lines[0]).toBe('### gpu-orchestrate: exit 1');
    expect(lines).toContain('| device | replicas | items | failed | retried | restarts | speed | batch | peak mem |');
    expect(lines).toContain('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    expect(lines.find((line) => line.startsWith('| cpu:1 |'))).toMatch(/^\| cpu:1 \| 2 \| 4 \| 0 \| 0 \| 0 \|/);
    expect(lines).toContain('12 items (11 ok, 1 failed) in 4s (3.0 items/s overall); failed by reason: ValueError: 1');
    expect(lines).toContain('| a\\|b&lt;c&gt; | cpu:0 | ValueError | pipe \\| in message |');
  });
});
