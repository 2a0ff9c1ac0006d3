/**
 * The JUnit report built from a run's record, read back with a strict XML parser: its structure,
 * its counts, and text that XML cannot hold as it is (a traceback with markup, `]]>`, control
 * characters). The end-to-end runs are in test/e2e/ci-reports.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { RunAbortedError, SetupError } from '../../src/errors.js';
import type { OutputRecord } from '../../src/journal/journal.js';
import type { RunConfig } from '../../src/options/config.js';
import { DeviceStats, RunStats } from '../../src/progress/stats.js';
import { junitXml } from '../../src/report/junit.js';
import { LISTED_FAILURES, RunRecord } from '../../src/report/run-record.js';
import { failureOf, junitSuite } from '../helpers/xml.js';

const config = { script: '/repo/detect.py', inputs: 'tests/smoke/inputs/', output: '/repo/out.jsonl' } as RunConfig;

function line(id: string, ok: boolean, device = 'cpu:0', message = `cannot decode ${id}`): OutputRecord {
  return ok
    ? { id, index: 0, input: id, ok, result: 1, device, replica: 0, attempts: 1, duration: 0.25 }
    : { id, index: 0, input: id, ok, error: { type: 'ValueError', message, traceback: `Traceback (most recent call last):\nValueError: ${message}` }, device, replica: 0, attempts: 1, duration: 0.5 };
}

/** A record of a run over two devices: `ok` items fine, `failed` failed, alternating devices. */
function recordOf(ok: number, failed: number, listOk = false): RunRecord {
  const devices = [new DeviceStats('cpu:0', 1, 8), new DeviceStats('cpu:1', 1, 8)];
  const record = new RunRecord(listOk);
  record.watch(new RunStats(ok + failed, devices));
  for (let index = 0; index < ok + failed; index += 1) {
    const written = line(`item-${index}`, index >= failed, `cpu:${index % 2}`);
    record.written(written);
    const device = devices[index % 2] as DeviceStats;
    if (written.ok) device.done += 1;
    else device.failed += 1;
  }
  return record;
}

const ok = { exitCode: 0, error: undefined };

describe('the JUnit report', () => {
  it('a testcase per failed item (id, device, duration, error type, message and traceback) and one per device; successes counted, not listed', () => {
    const { root, suite, cases, properties } = junitSuite(junitXml(config, recordOf(7, 3), { exitCode: 1, error: undefined }, Date.now()));
    const failed = cases.filter((testCase) => testCase.attributes.classname !== 'devices');
    expect(failed.map((testCase) => testCase.attributes.name)).toEqual(['item-0', 'item-1', 'item-2']);
    expect(failed.map((testCase) => testCase.attributes.classname)).toEqual(['cpu:0', 'cpu:1', 'cpu:0']);
    expect(failed[0]?.attributes.time).toBe('0.500');
    const failure = failureOf(failed[0]!);
    expect(failure?.attributes).toMatchObject({ type: 'ValueError', message: 'cannot decode item-0' });
    expect(failure?.text).toContain('Traceback (most recent call last):\nValueError: cannot decode item-0');
    const devices = cases.filter((testCase) => testCase.attributes.classname === 'devices');
    expect(devices.map((testCase) => testCase.attributes.name)).toEqual(['device cpu:0', 'device cpu:1']);
    expect(devices.every((testCase) => failureOf(testCase) === undefined)).toBe(true);
    expect(devices[0]?.children.find((child) => child.name === 'system-out')?.text).toMatch(/^5 items \(3 ok, 2 failed\)/);
    for (const element of [root, suite]) expect(element.attributes).toMatchObject({ tests: '5', failures: '3', errors: '0', skipped: '0' });
    expect(properties).toMatchObject({ 'items-ok': '7', 'items-failed': '3', 'exit-code': '1', output: '/repo/out.jsonl' });
  });

  it('--report-junit-all: every item is a testcase, and the counts still match', () => {
    const { suite, cases } = junitSuite(junitXml(config, recordOf(7, 3, true), { exitCode: 1, error: undefined }, Date.now()));
    expect(cases).toHaveLength(12);
    expect(cases.filter((testCase) => failureOf(testCase)).length).toBe(3);
    expect(suite.attributes).toMatchObject({ tests: '12', failures: '3' });
    expect(cases.filter((testCase) => /^item-/.test(testCase.attributes.name ?? '')).map((testCase) => testCase.attributes.name).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `item-${index}`).sort());
  });

  it('a traceback holding <, &, ]]>, quotes and control characters gives valid XML that keeps the text', () => {
    const record = new RunRecord(false);
    const nasty = 'bad <tag attr="x"> & ]]> end \u0000\u0001\u001b[31mred\u001b[0m \ud800 tab\tok';
    record.written(line('item-<&>"', false, 'cpu:0', nasty));
    const xml = junitXml(config, record, { exitCode: 1, error: undefined }, Date.now());
    const { cases } = junitSuite(xml); // a strict parser: throws on anything XML 1.0 cannot hold
    expect(cases[0]?.attributes.name).toBe('item-<&>"');
    const failure = failureOf(cases[0]!);
    // The control characters and the lone surrogate are dropped; the one-line message attribute has the tab as a space.
    expect(failure?.attributes.message).toBe('bad <tag attr="x"> & ]]> end [31mred[0m  tab ok');
    expect(failure?.text).toContain('ValueError: bad <tag attr="x"> & ]]> end [31mred[0m  tab\tok');
  });

  it.each([
    ['the script cannot load (exit 3)', { exitCode: 3, error: new SetupError('detect.py: importing the script raised ModuleNotFoundError: No module named torchvision') }, 'run: the script or the Python environment cannot run', 'SetupError', /ModuleNotFoundError/],
    ['every device lost (exit 4)', { exitCode: 4, error: new RunAbortedError('no device is left: the last, cpu:0, died 4 times') }, 'run: every device was lost', 'RunAborted', /no device is left/],
    ['interrupted (exit 130)', { exitCode: 130, error: undefined }, 'run: interrupted', 'Interrupted', /interrupted \(Ctrl-C or SIGTERM\): 10 of 10 items are in \/repo\/out\.jsonl/],
    ['an internal error (a write error, say)', { exitCode: 70, error: Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }) }, 'run: internal error', 'Error', /ENOSPC/],
  ])('%s: a failed testcase of its own, counted', (_, end, name, type, message) => {
    const { suite, cases } = junitSuite(junitXml(config, recordOf(8, 2), end, Date.now()));
    const run = cases.find((testCase) => testCase.attributes.classname === 'run');
    expect(run?.attributes.name).toBe(name);
    expect(failureOf(run!)?.attributes.type).toBe(type);
    expect(failureOf(run!)?.attributes.message).toMatch(message);
    expect(suite.attributes).toMatchObject({ tests: String(cases.length), failures: String(cases.filter((testCase) => failureOf(testCase)).length) });
    expect(cases.filter((testCase) => failureOf(testCase)).length).toBe(3);
  });

  it('a device taken out of the run: its testcase fails with why', () => {
    const record = recordOf(10, 0);
    const lost = record.stats?.devices[1] as DeviceStats;
    lost.state = 'out';
    lost.note = 'taken out of the run: its replicas died 4 times in a row without finishing a batch (SIGSEGV)';
    const { cases } = junitSuite(junitXml(config, record, ok, Date.now()));
    const device = cases.find((testCase) => testCase.attributes.name === 'device cpu:1');
    expect(failureOf(device!)?.attributes).toMatchObject({ type: 'DeviceLost', message: expect.stringContaining('SIGSEGV') });
    expect(failureOf(cases.find((testCase) => testCase.attributes.name === 'device cpu:0')!)).toBeUndefined();
  });

  it(`stays small on a large run: past ${LISTED_FAILURES} failed items the rest are counted in one testcase`, () => {
    const { suite, cases, properties } = junitSuite(junitXml(config, recordOf(0, LISTED_FAILURES + 500), { exitCode: 1, error: undefined }, Date.now()));
    const more = cases.find((testCase) => testCase.attributes.name === 'more failed items');
    expect(failureOf(more!)?.attributes.message).toMatch(/^500 more item\(s\) failed; only the first 1000 are listed/);
    expect(cases.filter((testCase) => /^item-/.test(testCase.attributes.name ?? ''))).toHaveLength(LISTED_FAILURES);
    expect(suite.attributes.failures).toBe(String(LISTED_FAILURES + 1));
    expect(properties['items-failed']).toBe(String(LISTED_FAILURES + 500));
  });
});
