import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunConfig, DEFAULTS } from '../../src/options/config.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'go-options-'));
writeFileSync(path.join(dir, 'detect.py'), 'def setup(ctx): pass\ndef infer(m, b): return b\n');
const base = { script: 'detect.py', inputs: 'images/', output: 'out.jsonl' };

describe('buildRunConfig', () => {
  it('fills the documented defaults and resolves paths against the working directory', () => {
    const config = buildRunConfig(base, {}, dir);
    expect(config).toMatchObject({
      script: path.join(dir, 'detect.py'),
      output: path.join(dir, 'out.jsonl'),
      devices: { kind: 'all' },
      workersPerGpu: DEFAULTS.workersPerGpu,
      batchSize: DEFAULTS.batchSize,
      prefetch: DEFAULTS.prefetch,
      python: 'python3',
      options: {},
      limit: undefined,
      dryRun: false,
    });
  });

  it('takes the interpreter from GPU_ORCHESTRATE_PYTHON unless --python is given', () => {
    expect(buildRunConfig(base, { GPU_ORCHESTRATE_PYTHON: '/opt/env/bin/python' }, dir).python).toBe('/opt/env/bin/python');
    expect(buildRunConfig({ ...base, python: '/usr/bin/python3.11' }, { GPU_ORCHESTRATE_PYTHON: '/x' }, dir).python).toBe('/usr/bin/python3.11');
  });

  it('parses numbers, --opt pairs and --gpus', () => {
    const config = buildRunConfig({ ...base, gpus: 'cpu:2', workersPerGpu: '3', batchSize: '16', prefetch: '4', limit: '10', opt: ['weights=/w/r.pt', 'mode=a=b'] }, {}, dir);
    expect(config).toMatchObject({ devices: { kind: 'cpu', count: 2 }, workersPerGpu: 3, batchSize: 16, prefetch: 4, limit: 10, options: { weights: '/w/r.pt', mode: 'a=b' } });
  });

  it.each([
    [{ batchSize: '0' }, /--batch-size must be between 1 and/],
    [{ batchSize: 'eight' }, /--batch-size takes a whole number \(got "eight"\)/],
    [{ workersPerGpu: '-1' }, /--workers-per-gpu takes a whole number/],
    [{ limit: '2.5' }, /--limit takes a whole number/],
    [{ opt: ['novalue'] }, /--opt "novalue": expected key=value/],
    [{ gpus: 'gpu1' }, /--gpus "gpu1" is not a device list/],
  ])('rejects %j with a message naming the option', (override, message) => {
    expect(() => buildRunConfig({ ...base, ...override }, {}, dir)).toThrow(message);
  });

  it('names every missing required option', () => {
    expect(() => buildRunConfig({ inputs: 'x' }, {}, dir)).toThrow(/missing --script, --output/);
  });

  it('a script that does not exist, or an output in a missing folder, is a usage error', () => {
    expect(() => buildRunConfig({ ...base, script: 'nope.py' }, {}, dir)).toThrow(UsageError);
    expect(() => buildRunConfig({ ...base, script: 'nope.py' }, {}, dir)).toThrow(/--script nope.py: no such file/);
    expect(() => buildRunConfig({ ...base, output: 'no/such/dir/out.jsonl' }, {}, dir)).toThrow(/does not exist; create it first/);
    expect(() => buildRunConfig({ ...base, output: '.' }, {}, dir)).toThrow(/is a directory/);
  });
});

describe('--workers-per-gpu auto and --memory-headroom', () => {
  it('takes auto, with a 2 GiB headroom unless told otherwise', () => {
    expect(buildRunConfig({ ...base, workersPerGpu: 'auto' }, {}, dir)).toMatchObject({ workersPerGpu: 'auto', memoryHeadroomBytes: 2 * 2 ** 30 });
    expect(buildRunConfig({ ...base, workersPerGpu: 'auto', memoryHeadroom: '1.5GiB' }, {}, dir).memoryHeadroomBytes).toBe(1.5 * 2 ** 30);
    expect(buildRunConfig({ ...base, workersPerGpu: 'auto', memoryHeadroom: '512 MiB' }, {}, dir).memoryHeadroomBytes).toBe(512 * 2 ** 20);
    expect(buildRunConfig({ ...base, workersPerGpu: 'auto', memoryHeadroom: '3GB' }, {}, dir).memoryHeadroomBytes).toBe(3e9);
    expect(buildRunConfig({ ...base, workersPerGpu: 'auto', memoryHeadroom: '0' }, {}, dir).memoryHeadroomBytes).toBe(0);
  });

  it.each([
    [{ workersPerGpu: 'many' }, /--workers-per-gpu takes a whole number or auto \(got "many"\)/],
    [{ workersPerGpu: '0' }, /--workers-per-gpu must be between 1 and 64, or auto/],
    [{ workersPerGpu: 'auto', memoryHeadroom: '2' }, /--memory-headroom "2": expected a size with its unit, such as 2GiB/],
    [{ workersPerGpu: 'auto', memoryHeadroom: 'lots' }, /--memory-headroom "lots": expected a size/],
    [{ workersPerGpu: '2', memoryHeadroom: '2GiB' }, /--memory-headroom applies to --workers-per-gpu auto only/],
  ])('rejects %j with a message naming the option', (override, message) => {
    expect(() => buildRunConfig({ ...base, ...override }, {}, dir)).toThrow(message);
  });
});

describe('CI options: --max-failures, --fail-fast, --report-junit', () => {
  it('--max-failures N, or --fail-fast as 1; none by default', () => {
    expect(buildRunConfig(base, {}, dir).maxFailures).toBeUndefined();
    expect(buildRunConfig({ ...base, maxFailures: '5' }, {}, dir).maxFailures).toBe(5);
    expect(buildRunConfig({ ...base, failFast: true }, {}, dir).maxFailures).toBe(1);
    expect(buildRunConfig({ ...base, failFast: true, maxFailures: '1' }, {}, dir).maxFailures).toBe(1);
  });

  it('--report-junit resolves against the working directory; --report-junit-all goes with it', () => {
    expect(buildRunConfig({ ...base, reportJunit: 'report.xml' }, {}, dir)).toMatchObject({ reportJunit: path.join(dir, 'report.xml'), reportJunitAll: false });
    expect(buildRunConfig({ ...base, reportJunit: 'report.xml', reportJunitAll: true }, {}, dir).reportJunitAll).toBe(true);
    expect(buildRunConfig(base, {}, dir).reportJunit).toBeUndefined();
  });

  it.each([
    [{ maxFailures: '0' }, /--max-failures must be between 1 and/],
    [{ maxFailures: 'some' }, /--max-failures takes a whole number \(got "some"\)/],
    [{ failFast: true, maxFailures: '5' }, /--fail-fast means --max-failures 1; it cannot go with --max-failures 5/],
    [{ reportJunitAll: true }, /--report-junit-all lists every item in the JUnit report: add --report-junit FILE/],
    [{ reportJunit: 'no/such/dir/report.xml' }, /--report-junit no\/such\/dir\/report.xml: the folder .* does not exist; create it first/],
    [{ reportJunit: '.' }, /--report-junit \.: is a directory/],
  ])('rejects %j with a message naming the option', (override, message) => {
    expect(() => buildRunConfig({ ...base, ...override }, {}, dir)).toThrow(message);
  });
});
