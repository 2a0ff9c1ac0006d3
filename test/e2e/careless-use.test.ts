/**
 * The command as a careless or a hostile user runs it (issue 12, point 5): each case ends with a
 * message that names the input and what to do, the documented exit code, nothing lost and nothing
 * left running. Permission cases run as a user that permissions bind (nobody, when the tests run as
 * root, whom they do not).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectEachIdOnce, expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, readOutput, runCli, scratchDir, startCli, type CliResult } from '../helpers/cli.js';
import { testRoot } from '../helpers/scratch.js';

const asRoot = process.getuid?.() === 0;
const unprivileged = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];

/** A folder that the unprivileged user can enter and write, with the test's root made passable for it. */
function sharedDir(): string {
  chmodSync(testRoot(), 0o711);
  const dir = scratchDir();
  chmodSync(dir, 0o777);
  return dir;
}

function expectRefused(result: CliResult, exitCode: number, message: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(exitCode);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n'), 'one message').toHaveLength(1);
}

const echo = (inputs: string, output: string) => ['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:1'];

describe('a careless --output', () => {
  it('/dev/null (not a file; the output is the journal --resume reads): exit 2 before anything runs', async () => {
    const dir = scratchDir();
    const result = await runCli(echo(itemsFile(dir, 5), '/dev/null'));
    expectRefused(result, 2, /^gpu-orchestrate: --output \/dev\/null: is a character device, not a file; give a file path such as results\.jsonl$/m);
    await expectNoSurvivors(result.marker);
  });

  it('the --inputs file or the --script itself, with --overwrite or --resume: refused (exit 2), both left as they were', async () => {
    const dir = scratchDir();
    const inputs = itemsFile(dir, 5);
    const script = path.join(dir, 'echo.py');
    writeFileSync(script, readFileSync(fixture('echo.py')));
    const before = { inputs: readFileSync(inputs, 'utf8'), script: readFileSync(script, 'utf8') };
    for (const [output, flag, named] of [[inputs, '--overwrite', '--inputs'], [inputs, '--resume', '--inputs'], [script, '--overwrite', '--script']] as const) {
      const result = await runCli(['--script', script, '--inputs', inputs, '--output', output, '--gpus', 'cpu:1', flag]);
      expectRefused(result, 2, new RegExp(`--output .*: it is the same file as ${named} .*, which the run would overwrite; give another --output`));
    }
    expect(readFileSync(inputs, 'utf8')).toBe(before.inputs);
    expect(readFileSync(script, 'utf8')).toBe(before.script);
  });

  it('in a read-only folder: exit 2 naming the folder problem, before the Python preflight', async () => {
    const dir = sharedDir();
    const inputs = itemsFile(dir, 5);
    chmodSync(inputs, 0o644);
    const readOnly = path.join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const result = await runCli(echo(inputs, path.join(readOnly, 'out.jsonl')), { wrapper: unprivileged });
    expectRefused(result, 2, /--output .*read-only\/out\.jsonl: cannot create out\.jsonl\.lock beside it \(permission denied \(EACCES\)\); give an --output in a folder you can write to/);
  });

  it('an existing output that is read-only, with --resume: exit 2, the output untouched', async () => {
    const dir = sharedDir();
    const inputs = itemsFile(dir, 5);
    chmodSync(inputs, 0o644);
    const output = path.join(dir, 'out.jsonl');
    writeFileSync(output, '{"id": "item-0", "ok": true}\n', { mode: 0o444 });
    chmodSync(output, 0o444);
    const result = await runCli([...echo(inputs, output), '--resume'], { wrapper: unprivileged });
    expectRefused(result, 2, /--output .*out\.jsonl: cannot write to it \(permission denied \(EACCES\)\); give another --output, or make it writable/);
    expect(readFileSync(output, 'utf8')).toBe('{"id": "item-0", "ok": true}\n');
  });
});

describe('an --output inside the --inputs it reads', () => {
  it('in the inputs folder, or matched by the glob: never an item of its own run nor of its --resume', async () => {
    for (const [glob, name] of [[false, 'results.jsonl'], [true, 'zz-results']] as const) {
      const images = path.join(scratchDir(), 'images');
      mkdirSync(images);
      for (let index = 0; index < 12; index += 1) writeFileSync(path.join(images, `img-${String(index).padStart(2, '0')}.txt`), `${index}`);
      const spec = glob ? `${images}/*` : images;
      const output = path.join(images, name);
      const args = ['--script', fixture('echo.py'), '--inputs', spec, '--output', output, '--gpus', 'cpu:1', '--batch-size', '4'];
      const first = await runCli(args);
      expect(first.exitCode, first.stderr).toBe(0);
      expect(readOutput(output).map((line) => path.basename(line.input as string)).sort(), spec).toEqual(Array.from({ length: 12 }, (_, index) => `img-${String(index).padStart(2, '0')}.txt`));
      // The resumed run walks the folder again, which now holds the output, its lock and its arrays' file names.
      const resumed = await runCli([...args, '--resume']);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(/nothing to do: every item is already in/);
      expect(readOutput(output)).toHaveLength(12);
    }
  });
});

describe('unreadable inputs and script', () => {
  it('an --inputs file the user cannot read: exit 2 naming it (not an internal error)', async () => {
    const dir = sharedDir();
    const inputs = itemsFile(dir, 5);
    chmodSync(inputs, 0o000);
    const result = await runCli(echo(inputs, path.join(dir, 'out.jsonl')), { wrapper: unprivileged });
    expectRefused(result, 2, /--inputs .*items\.jsonl: cannot be read \(permission denied \(EACCES\)\); make it readable for this user/);
  });

  it('an --inputs folder the user cannot read: exit 2 (not a run of zero items that says "nothing to do")', async () => {
    const dir = sharedDir();
    const images = path.join(dir, 'images');
    mkdirSync(images);
    writeFileSync(path.join(images, 'a.png'), '');
    chmodSync(images, 0o000);
    try {
      const result = await runCli(echo(images, path.join(dir, 'out.jsonl')), { wrapper: unprivileged });
      expectRefused(result, 2, /--inputs .*images: cannot be read \(permission denied \(EACCES\)\)/);
    } finally {
      chmodSync(images, 0o755); // so that its owner can remove it, root or not
    }
  });

  it('a --script the user cannot read: exit 2 naming it', async () => {
    const dir = sharedDir();
    const inputs = itemsFile(dir, 5);
    chmodSync(inputs, 0o644);
    const script = path.join(dir, 'echo.py');
    writeFileSync(script, readFileSync(fixture('echo.py')));
    chmodSync(script, 0o000);
    const result = await runCli(['--script', script, '--inputs', inputs, '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1'], { wrapper: unprivileged });
    expectRefused(result, 2, /--script .*echo\.py: cannot be read \(permission denied \(EACCES\)\); make it readable/);
  });

  it('--python naming a folder: exit 3 saying it cannot be run (not "failed (exit undefined)")', async () => {
    const dir = scratchDir();
    const result = await runCli([...echo(itemsFile(dir, 5), path.join(dir, 'out.jsonl')), '--python', dir]);
    expectRefused(result, 3, /cannot run the Python interpreter .*: permission denied \(EACCES\)\. Pass --python PATH/);
  });
});

describe('odd input files', () => {
  it('a JSONL file saved with a byte order mark (as some Windows editors do) runs: the mark is not part of line 1', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, `\uFEFF${['a', 'b', 'c'].map((id) => JSON.stringify({ id, value: 1 })).join('\n')}\n`);
    const output = path.join(dir, 'out.jsonl');
    const result = await runCli(echo(inputs, output));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readOutput(output).map((line) => line.id).sort()).toEqual(['a', 'b', 'c']);
  });

  it('numeric ids past 2^53 (which JSON readers round, so two can become one): exit 2, asking for string ids', async () => {
    const dir = scratchDir();
    const inputs = path.join(dir, 'items.jsonl');
    writeFileSync(inputs, '{"id": 12345678901234567890, "value": 1}\n{"id": 12345678901234567891, "value": 2}\n');
    const result = await runCli(echo(inputs, path.join(dir, 'out.jsonl')));
    expectRefused(result, 2, /items\.jsonl, line 1: its "id" is a number past 2\^53, which cannot be read exactly \(it reads as 12345678901234567000\); write the id as a string, in quotes/);
  });
});

describe('a reader that goes away', () => {
  it('stderr closed mid-run (as `2>&1 | head -1` does): the run still finishes every item and exits with its own code', async () => {
    const dir = scratchDir();
    itemsFile(dir, 200);
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'replica.log');
    // item-100's batch runs 12 s: the progress line due every 5 s is written while the run is mid-way.
    const run = startCli(['--script', fixture('logged_echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--gpus', 'cpu:1', '--opt', `log=${log}`, '--opt', 'stall=item-100', '--opt', 'stall_seconds=12']);
    run.closeStderr();
    const result = await run.done;
    expect(result.exitCode).toBe(0);
    expect(loggedIds(readFileSync(log, 'utf8').split('\n'), 'start')).toContain('item-100');
    expectEachIdOnce(output, 200);
    await expectNoSurvivors(result.marker);
  });
});
