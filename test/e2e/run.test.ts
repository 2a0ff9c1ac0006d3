/** The real CLI on CPU devices, end to end: what a user runs and what they would check. */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { Dealer } from 'zeromq';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../src/transport/messages.js';
import { pythonEnv } from '../../src/workers/python.js';
import { expectNoSurvivors } from '../helpers/checks.js';
import { PYTHON, fixture, jsonlItems, readOutput, runCli, scratchDir, startCli, waitFor } from '../helpers/cli.js';

describe('a run on cpu:2', () => {
  it('1000 items give 1000 lines, each id once, with work done by all four replicas', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(1000));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', '2', '--batch-size', '8', '--opt', 'delay=0.004']);
    expect(result.stderr).not.toMatch(/warning|error/i);
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(1000);
    expect(new Set(lines.map((line) => line.id)).size).toBe(1000);
    for (const line of lines) {
      expect(line.ok).toBe(true);
      expect((line.result as { echo: unknown }).echo).toEqual(line.input);
      expect(line.input).toEqual({ id: line.id, value: Number(line.id.slice(5)) });
    }
    const replicas = new Set(lines.map((line) => `${line.device}/${line.replica}`));
    expect([...replicas].sort()).toEqual(['cpu:0/0', 'cpu:0/1', 'cpu:1/0', 'cpu:1/1']);
    expect(new Set(lines.map((line) => (line.result as { pid: number }).pid)).size).toBe(4);
    expect(result.stderr).toMatch(/device\s+replicas\s+items\s+failed\s+retried\s+restarts\s+speed/); // the summary table
    expect(result.stderr).toMatch(/^1000 items \(1000 ok, 0 failed\) in /m);
    await expectNoSurvivors(result.marker);
  });

  it('runs a real torch model; its outputs equal a direct call of the same model, arrays included', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'seeds.jsonl');
    writeFileSync(inputs, jsonlItems(40, (index) => ({ id: `img-${index}`, seed: index })));
    const output = path.join(dir, 'cnn.jsonl');
    const result = await runCli(['--script', fixture('tiny_cnn.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '4']);
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(40);
    expect(lines[0]?.result).toMatchObject({ logits: { __ndarray__: { dtype: 'float32', shape: [10], file: 'cnn.arrays' } } });
    // Read the output back as the README shows and compare with the model run directly.
    const check = `
import importlib.util, sys, numpy as np, torch
from gpu_orchestrate_worker import read_output
spec = importlib.util.spec_from_file_location("cnn", sys.argv[1]); cnn = importlib.util.module_from_spec(spec); spec.loader.exec_module(cnn)
class Ctx: device = torch.device("cpu"); options = {}
model = cnn.setup(Ctx())
lines = list(read_output(sys.argv[2]))
expected = cnn.infer(model, [line["input"] for line in lines])
for line, want in zip(lines, expected):
    assert line["result"]["class"] == want["class"], line["id"]
    assert line["result"]["logits"].dtype == np.float32 and line["result"]["logits"].shape == (10,)
    np.testing.assert_allclose(line["result"]["logits"], want["logits"].numpy(), rtol=1e-5, atol=1e-6)
print(len(lines), "checked")
`;
    const verify = await execa(PYTHON, ['-c', check, fixture('tiny_cnn.py'), output], { env: pythonEnv(), reject: false });
    expect(verify.stderr).toBe('');
    expect(verify.stdout.trim()).toBe('40 checked');
    await expectNoSurvivors(result.marker);
  });

  it('items whose infer raises fail alone, with the error and traceback; the rest succeed; exit code 1', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(30));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('fails_some.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '8']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/5 item\(s\) failed/);
    // Failed items are settled: progress reaches 100% (the log's last line), and the summary counts both.
    expect(result.stderr).toMatch(/^\[gpu-orchestrate\] 30\/30 items \(100\.0%\) · 5 failed · /m);
    expect(result.stderr).toMatch(/^30 items \(25 ok, 5 failed\) in \S+ \(.* overall\); failed by reason: ValueError: 5$/m);
    const lines = readOutput(output);
    expect(lines).toHaveLength(30);
    const failed = lines.filter((line) => !line.ok).map((line) => line.id).sort();
    expect(failed).toEqual(['item-0', 'item-14', 'item-21', 'item-28', 'item-7']);
    for (const line of lines) {
      const value = (line.input as { value: number }).value;
      if (line.ok) expect(line.result).toBe(value * 2);
      else {
        expect(line.error?.type).toBe('ValueError');
        expect(line.error?.message).toBe(`cannot decode item ${line.id}`);
        expect(line.error?.traceback).toMatch(/Traceback[\s\S]*fails_some\.py[\s\S]*ValueError/);
      }
    }
    await expectNoSurvivors(result.marker);
  });

  it('an empty input writes an empty output and exits 0', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'empty.jsonl');
    writeFileSync(inputs, '');
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', '2']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/nothing to do/);
    expect(readFileSync(output, 'utf8')).toBe('');
  });
});

describe('a script that cannot run stops the run before any work, with one clear message', () => {
  async function failingRun(script: string) {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(20));
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(['--script', fixture(script), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2']);
    await expectNoSurvivors(result.marker);
    const lines = existsSync(output) ? readOutput(output) : [];
    return { ...result, lines };
  }

  it('a script without infer names the file and the missing function', async () => {
    const result = await failingRun('missing_infer.py');
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/missing_infer\.py: the script does not define infer/);
    expect(result.stderr).toMatch(/def infer\(model, batch\)/);
    expect(result.lines).toEqual([]);
  });

  it('a syntax error names the file and the line', async () => {
    const result = await failingRun('syntax_error.py');
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/syntax_error\.py: syntax error at line 5/);
    expect(result.lines).toEqual([]);
  });

  it('a script that fails to import names the file and the cause', async () => {
    const result = await failingRun('import_error.py');
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/import_error\.py: importing the script raised ModuleNotFoundError: No module named 'a_module_that_is_not_installed'/);
    // One message, not one per replica; any other line is a progress line, none claims "done".
    const lines = result.stderr.trim().split('\n');
    expect(lines.filter((line) => line.includes('a_module_that_is_not_installed'))).toHaveLength(1);
    expect(lines.filter((line) => !line.startsWith('[gpu-orchestrate] ') && !line.startsWith('gpu-orchestrate: '))).toEqual([]);
    expect(result.stderr).not.toMatch(/cpu:\d done\b/); // no device's state claims it finished
    expect(result.stderr).toMatch(/cpu:\d stopped · 0 done/);
    expect(result.lines).toEqual([]);
  });

  it('setup failing on every replica stops the run with its traceback', async () => {
    const result = await failingRun('setup_fails.py');
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/setup\(\) raised RuntimeError: cannot load weights on cpu:/);
    expect(result.stderr).toMatch(/Traceback/);
    expect(result.lines).toEqual([]);
  });
});

describe("the controller's socket", () => {
  it('a malformed or foreign message is logged and ignored; the run goes on', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, jsonlItems(200));
    const output = path.join(dir, 'out.jsonl');
    const run = startCli(['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', 'delay=0.02']);
    // The controller binds its socket inside its private run folder under the run's TMPDIR.
    const socket = () => {
      const runDir = readdirSync(run.tmp).find((name) => name.startsWith('gpu-orchestrate-'));
      return runDir && existsSync(path.join(run.tmp, runDir, 'controller')) ? path.join(run.tmp, runDir, 'controller') : undefined;
    };
    await waitFor(() => socket() !== undefined, "the controller's socket");
    const endpoint = `ipc://${socket() as string}`;
    const intruder = new Dealer({ linger: 1000 });
    intruder.connect(endpoint);
    await intruder.send(Buffer.from('this is not msgpack \xff\xfe'));
    await intruder.send(Buffer.from([0x81, 0xa1, 0x78, 0x01])); // msgpack {"x": 1}: a foreign shape
    await intruder.send([Buffer.from('two'), Buffer.from('frames')]);
    // A result for a batch nobody holds, shaped like the real thing.
    const { encode } = await import('../../src/transport/codec.js');
    await intruder.send(encode({ v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 99999, outcomes: [], busy: 0 }] }));
    await intruder.send(encode({ v: PROTOCOL_VERSION, kind: 'ready', device: 7, replica: 0, pid: 1, generation: 0 }));
    const result = await run.done;
    intruder.close();
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/ignored a malformed message on the controller's socket/);
    expect(result.stderr).toMatch(/ignored results for batch 99999/);
    expect(result.stderr).toMatch(/unknown device 7/);
    const lines = readOutput(output);
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((line) => line.id)).size).toBe(200);
    await expectNoSurvivors(result.marker);
  });
});
