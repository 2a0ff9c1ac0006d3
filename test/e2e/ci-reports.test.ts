/**
 * The reports CI reads, from real runs: the JUnit XML file (read back with a strict XML parser)
 * at the end of a run with failures, of a run whose script does not load, of an interrupted run;
 * and on GitHub Actions the error annotations on stdout and the Markdown summary.
 */
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, logLines, readOutput, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';
import { failureOf, junitSuite, type XmlElement } from '../helpers/xml.js';

/** Each testcase with a <failure>, and the suite's counts checked against the testcases. */
function readReport(file: string) {
  const report = junitSuite(readFileSync(file, 'utf8'));
  const failed = report.cases.filter((testCase) => failureOf(testCase));
  expect(report.suite.attributes).toMatchObject({ tests: String(report.cases.length), failures: String(failed.length), errors: '0' });
  expect(report.root.attributes).toMatchObject({ tests: String(report.cases.length), failures: String(failed.length) });
  return { ...report, failed };
}

const names = (cases: XmlElement[]) => cases.map((testCase) => testCase.attributes.name);
// Not on GitHub Actions unless a test says so, even when the tests themselves run there.
const NOT_GITHUB = { GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: '' };

describe('--report-junit', () => {
  it('a run with successes and failures: a testcase per failed item with its error, one per device; the report replaced atomically', async () => {
    const dir = scratchDir();
    const report = path.join(dir, 'report.xml');
    writeFileSync(report, 'an old report');
    const before = statSync(report).ino;
    const output = path.join(dir, 'out.jsonl');
    // fails_some.py fails the items whose value is divisible by 7: item-0, item-7, item-14.
    const result = await runCli(['--script', fixture('fails_some.py'), '--inputs', itemsFile(dir, 20), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--report-junit', report], { env: NOT_GITHUB });
    expect(result.exitCode, result.stderr).toBe(1);
    const { cases, failed, properties } = readReport(report);
    expect(names(failed).sort()).toEqual(['item-0', 'item-14', 'item-7']);
    for (const testCase of failed) {
      expect(testCase.attributes.classname).toBe('cpu:0');
      expect(failureOf(testCase)?.attributes).toMatchObject({ type: 'ValueError', message: `cannot decode item ${testCase.attributes.name}` });
      expect(failureOf(testCase)?.text).toMatch(/Traceback \(most recent call last\):[\s\S]*fails_some\.py[\s\S]*ValueError: cannot decode item/);
    }
    expect(names(cases.filter((testCase) => !failureOf(testCase)))).toEqual(['device cpu:0']);
    expect(properties).toMatchObject({ 'exit-code': '1', 'items-ok': '17', 'items-failed': '3' });
    // Renamed into place: a new file, and no temporary file left beside it.
    expect(statSync(report).ino).not.toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['items.jsonl', 'out.jsonl', 'report.xml']);
    expect(result.stdout).not.toMatch(/::error/);
  });

  it('--report-junit-all lists every item, and the counts still match', async () => {
    const dir = scratchDir();
    const report = path.join(dir, 'report.xml');
    const result = await runCli(['--script', fixture('fails_some.py'), '--inputs', itemsFile(dir, 20), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--report-junit', report, '--report-junit-all', '--quiet'], { env: NOT_GITHUB });
    expect(result.exitCode, result.stderr).toBe(1);
    const { cases, failed } = readReport(report);
    expect(cases).toHaveLength(21);
    expect(names(failed).sort()).toEqual(['item-0', 'item-14', 'item-7']);
    expect(names(cases).filter((name) => name?.startsWith('item-')).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `item-${index}`).sort());
  });

  it('a script that does not load (exit 3): the run-level failure is a failed testcase with the cause', async () => {
    const dir = scratchDir();
    const report = path.join(dir, 'report.xml');
    const result = await runCli(['--script', fixture('import_error.py'), '--inputs', itemsFile(dir, 10), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--report-junit', report], { env: NOT_GITHUB });
    expect(result.exitCode, result.stderr).toBe(3);
    const { failed, properties } = readReport(report);
    expect(names(failed)).toEqual(['run: the script or the Python environment cannot run']);
    expect(failureOf(failed[0]!)?.attributes.type).toBe('SetupError');
    expect(failureOf(failed[0]!)?.attributes.message).toMatch(/import_error\.py: importing the script raised ModuleNotFoundError: No module named 'a_module_that_is_not_installed'/);
    expect(properties).toMatchObject({ 'exit-code': '3', 'items-ok': '0', 'items-failed': '0' });
  });

  it('an interrupted run (exit 130): "run: interrupted" fails, and the counts are those of the output', async () => {
    const dir = scratchDir();
    const report = path.join(dir, 'report.xml');
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'log');
    itemsFile(dir, 100);
    const run = startCli(['--script', fixture('logged_echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--gpus', 'cpu:1', '--batch-size', '4', '--opt', `log=${log}`, '--opt', 'stall=item-20', '--opt', 'stall_seconds=2', '--report-junit', report], { env: NOT_GITHUB });
    await waitFor(() => loggedIds(logLines(log), 'start').includes('item-20'), 'item-20 to start');
    run.signalGroup('SIGINT');
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(130);
    await expectNoSurvivors(result.marker);
    const written = readOutput(output).length;
    const { failed, properties } = readReport(report);
    expect(names(failed)).toEqual(['run: interrupted']);
    expect(failureOf(failed[0]!)?.attributes).toMatchObject({ type: 'Interrupted', message: `interrupted (Ctrl-C or SIGTERM): ${written} of 100 items are in ${output}` });
    expect(properties).toMatchObject({ 'exit-code': '130', 'items-ok': String(written) });
    expect(written).toBeLessThan(100);
  });

  it('a traceback holding <, &, ]]> and control characters still gives valid XML, the text kept', async () => {
    const dir = scratchDir();
    const report = path.join(dir, 'report.xml');
    const result = await runCli(['--script', fixture('fails_with_markup.py'), '--inputs', itemsFile(dir, 4), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--report-junit', report], { env: NOT_GITHUB });
    expect(result.exitCode, result.stderr).toBe(1);
    const { failed } = readReport(report); // a strict parser: throws on anything XML 1.0 cannot hold
    expect(names(failed)).toEqual(['item-1']);
    const failure = failureOf(failed[0]!);
    // NUL, \x01 and the escape character are dropped (XML 1.0 cannot hold them); the rest is kept.
    expect(failure?.attributes.message).toBe('bad <box w="3"> & ]]>  [31mred[0m');
    expect(failure?.text).toMatch(/raise ValueError\("bad <box w=\\"3\\"> & \]\]> [\s\S]*ValueError: bad <box w="3"> & \]\]> {2}\[31mred\[0m/);
  });
});

describe('on GitHub Actions', () => {
  it('the first 10 failures as ::error commands on stdout, and the summary table appended to $GITHUB_STEP_SUMMARY', async () => {
    const dir = scratchDir();
    const summary = path.join(dir, 'summary.md');
    writeFileSync(summary, '## an earlier step\n\n');
    // 100 items, 15 of them failing (values divisible by 7).
    const result = await runCli(['--script', fixture('fails_some.py'), '--inputs', itemsFile(dir, 100), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--quiet'], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    expect(result.exitCode, result.stderr).toBe(1);
    const commands = result.stdout.split('\n').filter((line) => line.startsWith('::'));
    expect(commands).toHaveLength(10);
    for (const command of commands) {
      // title: the item and its device (":" escaped as %3A), then the message with the traceback's lines as %0A.
      expect(command).toMatch(/^::error title=gpu-orchestrate%3A item (item-\d+) failed on cpu%3A0 \(ValueError\)::cannot decode item \1%0ATraceback \(most recent call last\):%0A.*%0AValueError: cannot decode item \1$/);
    }
    const text = readFileSync(summary, 'utf8');
    expect(text.startsWith('## an earlier step\n\n### gpu-orchestrate: exit 1\n')).toBe(true);
    expect(text).toContain('| device | replicas | items | failed | retried | restarts | speed | batch | peak mem |');
    expect(text).toMatch(/^\| cpu:0 \| 1 \| 100 \| 15 \| 0 \| 0 \| /m);
    expect(text).toContain('**Failed items** (15 of 15 shown');
    expect(text).toMatch(/^\| item-7 \| cpu:0 \| ValueError \| cannot decode item item-7 \|$/m);
  });
});
