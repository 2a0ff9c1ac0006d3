/**
 * The JUnit XML report (--report-junit): the format GitHub Actions test reporters, GitLab
 * (artifacts:reports:junit), Jenkins and Buildkite render. One testsuite per run:
 *   - a testcase per failed item: name = its id, classname = its device, time = its duration,
 *     <failure type="ValueError" message="...">the traceback</failure>;
 *   - with --report-junit-all, a passing testcase per item that succeeded (else they are counted
 *     in the suite's properties, so a large run keeps a small report);
 *   - a testcase per device that summarizes what it ran (failed when it was taken out of the run);
 *   - a failed testcase per problem of the run (the script cannot load, interrupted, stopped at
 *     --max-failures, every device lost, an internal error).
 * The suite's counts are those of its testcases. xmlbuilder2 escapes text and attributes, and
 * drops characters XML 1.0 cannot hold (a traceback's terminal colour codes, NUL): no reader
 * refuses the file over one traceback.
 */
import writeFileAtomic from 'write-file-atomic';
import { create } from 'xmlbuilder2';
import type { RunConfig } from '../options/config.js';
import { formatBytes } from '../util/format-bytes.js';
import { formatSpeed } from '../progress/stats.js';
import { runProblems, type RunEnd, type RunProblem, type RunRecord, type WrittenItem } from './run-record.js';

type XmlElement = ReturnType<typeof create>;

interface TestCase {
  name: string;
  classname: string;
  seconds: number;
  failure?: { type: string; message: string; text: string };
  properties?: Record<string, string>;
  out?: string;
}

function seconds(value: number): string {
  return Number.isFinite(value) && value > 0 ? value.toFixed(3) : '0';
}

function itemCase(item: WrittenItem): TestCase {
  const failure = item.error && { type: item.error.type || 'Error', message: item.error.message, text: [`${item.error.type}: ${item.error.message}`, item.error.traceback].filter(Boolean).join('\n\n') };
  return { name: item.id, classname: item.device, seconds: item.duration, properties: { device: item.device }, ...(item.ok ? {} : { failure }) };
}

function problemCase(problem: RunProblem): TestCase {
  return { name: problem.name, classname: 'run', seconds: 0, failure: { type: problem.type, message: problem.message, text: problem.detail || problem.message } };
}

/** A testcase per device: what it ran, and why it left the run when it did. */
function deviceCases(record: RunRecord, problems: RunProblem[], now: number): TestCase[] {
  return (record.stats?.devices ?? []).map((device) => {
    const lost = problems.find((problem) => problem.subject === device.label);
    const active = device.firstReadyAt === undefined ? 0 : ((device.finishedAt ?? now) - device.firstReadyAt) / 1000;
    const memory = device.memory ? `; peak memory ${formatBytes(device.peakMemoryUsed)}` : '';
    const out = `${device.settled} items (${device.done} ok, ${device.failed} failed); ${device.replicas} replica(s); ${device.retries} retried; ${device.restarts} restart(s); ${formatSpeed(device.rate(now))}; batch size ${device.batchSize}${memory}; state ${device.state}`;
    const properties = { device: device.label, items: String(device.settled), ok: String(device.done), failed: String(device.failed), restarts: String(device.restarts) };
    return { name: `device ${device.label}`, classname: 'devices', seconds: active, properties, out, ...(lost ? { failure: { type: lost.type, message: lost.message, text: lost.detail || lost.message } } : {}) };
  });
}

function addCase(suite: XmlElement, testCase: TestCase): void {
  const element = suite.ele('testcase', { name: testCase.name, classname: testCase.classname, time: seconds(testCase.seconds) });
  if (testCase.properties) {
    const properties = element.ele('properties');
    for (const [name, value] of Object.entries(testCase.properties)) properties.ele('property', { name, value }).up();
  }
  // XML folds line breaks and tabs in an attribute into spaces anyway: the message attribute is
  // the one-line summary, the element's text the whole of it.
  if (testCase.failure) element.ele('failure', { type: testCase.failure.type, message: testCase.failure.message.replace(/[\t\r\n]+/g, ' ') }).txt(testCase.failure.text);
  if (testCase.out) element.ele('system-out').txt(testCase.out);
}

/** The report as XML text. `now`: when the run ended (ms). */
export function junitXml(config: RunConfig, record: RunRecord, end: RunEnd, now: number): string {
  const problems = runProblems(record, end, config.output);
  const cases: TestCase[] = [...problems.filter((problem) => problem.subject === 'run').map(problemCase), ...deviceCases(record, problems, now), ...record.failedItems.map(itemCase)];
  if (record.failedNotListed > 0) {
    const message = `${record.failedNotListed} more item(s) failed; only the first ${record.failedItems.length} are listed. Their lines in ${config.output} have "ok": false with the error.`;
    cases.push({ name: 'more failed items', classname: 'run', seconds: 0, failure: { type: 'MoreFailures', message, text: message } });
  }
  cases.push(...record.okItems.map(itemCase));
  const failures = cases.filter((testCase) => testCase.failure).length;
  const wall = (now - record.startedAt.getTime()) / 1000;
  const counts = { tests: String(cases.length), failures: String(failures), errors: '0', skipped: '0', time: seconds(wall) };
  const root = create({ version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '' }).ele('testsuites', { name: 'gpu-orchestrate', ...counts });
  const suite = root.ele('testsuite', { name: `gpu-orchestrate ${config.script}`, ...counts, timestamp: record.startedAt.toISOString() });
  const properties = suite.ele('properties');
  const total = record.stats?.total ?? record.okCount + record.failedCount;
  const runProperties = { script: config.script, inputs: config.inputs, output: config.output, 'exit-code': String(end.exitCode), 'items-to-run': String(total), 'items-ok': String(record.okCount), 'items-failed': String(record.failedCount) };
  for (const [name, value] of Object.entries(runProperties)) properties.ele('property', { name, value }).up();
  for (const testCase of cases) addCase(suite, testCase);
  return root.end({ prettyPrint: true });
}

/** Written to a temporary file beside it, then renamed into place: a reader never sees half a report. */
export async function writeJunit(file: string, xml: string): Promise<void> {
  await writeFileAtomic(file, `${xml}\n`, { encoding: 'utf8' });
}
