/**
 * The README's "In CI" recipe, checked: the GitHub Actions workflow and the GitLab job parse as
 * YAML with the parts the README promises, and their commands, run in order on this machine in a
 * project laid out as the README says (detect.py, tests/smoke/inputs/, package.json with
 * gpu-orchestrate, the answers pinned with the README's own command), pass.
 *
 * Steps that only a CI runner can run are named here and skipped, and the test fails on any step
 * it does not know, so a step added to the README is either run or consciously listed:
 *   - every `uses:` step (actions/checkout, setup-node, setup-python, the JUnit publisher,
 *     upload-artifact): GitHub's own actions, which exist only on a runner;
 *   - "Install" and GitLab's before_script: `npm ci` and pip from the registries. Here the
 *     project's node_modules/gpu-orchestrate is this checkout (as npm ci would install it) and
 *     torch, pyzmq, msgpack and numpy are installed already (the test suite needs them).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectNoSurvivors } from '../helpers/checks.js';
import { BIN, ROOT, fixture, scratchDir } from '../helpers/cli.js';
import { MARKER_VARIABLE, killRun } from '../helpers/processes.js';
import { failureOf, junitSuite } from '../helpers/xml.js';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n');

/** The first indented code block after the README line that contains `marker`, dedented. */
function blockAfter(marker: string): string {
  let at = README.findIndex((line) => line.includes(marker));
  if (at < 0) throw new Error(`README.md has no line with ${JSON.stringify(marker)}`);
  while (at < README.length && !README[at]?.startsWith('    ')) at += 1;
  const block: string[] = [];
  for (; at < README.length && (README[at]?.startsWith('    ') || README[at]?.trim() === ''); at += 1) block.push((README[at] ?? '').slice(4));
  return `${block.join('\n').trimEnd()}\n`;
}

/** A project as the README describes it: detect.py, six inputs, package.json, node_modules/gpu-orchestrate (this checkout). */
function makeProject(): string {
  const project = scratchDir('go-ci-project-');
  copyFileSync(fixture('smoke_detect.py'), path.join(project, 'detect.py'));
  mkdirSync(path.join(project, 'tests/smoke/inputs'), { recursive: true });
  for (let index = 0; index < 6; index += 1) writeFileSync(path.join(project, `tests/smoke/inputs/sample-${index}.txt`), `${index} ${index / 2} ${-index} 1\n`);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'smoke-project', private: true, devDependencies: { 'gpu-orchestrate': '*' } }, null, 2));
  writeFileSync(path.join(project, 'requirements.txt'), '# what detect.py needs: torch (installed first, from the CPU index)\n');
  mkdirSync(path.join(project, 'node_modules/.bin'), { recursive: true });
  symlinkSync(ROOT, path.join(project, 'node_modules/gpu-orchestrate'));
  // What npm puts in node_modules/.bin for a package's "bin" (a shim on systems without symlinks).
  const shim = path.join(project, 'node_modules/.bin/gpu-orchestrate');
  writeFileSync(shim, `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(shim, 0o755);
  return project;
}

/** Runs a step's commands as a runner's bash does (GitHub: `bash --noprofile --norc -eo pipefail`). */
async function runStep(project: string, commands: string, env: Record<string, string>): Promise<{ exitCode: number | undefined; output: string }> {
  const marker = `go-ci-${process.pid}-${Date.now()}`;
  try {
    const result = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', commands], { cwd: project, reject: false, all: true, timeout: 90_000, env: { ...env, CI: 'true', TMPDIR: scratchDir('go-ci-tmp-'), [MARKER_VARIABLE]: marker } });
    await expectNoSurvivors(marker);
    return { exitCode: result.exitCode, output: String(result.all) };
  } finally {
    killRun(undefined, marker);
  }
}

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}

describe("the README's CI recipe", () => {
  it('the GitHub Actions workflow parses, and its commands pass in order: the smoke run, its JUnit report, the compare with the pinned answers', async () => {
    const workflow = parse(blockAfter('of what the script needs:')) as { on: unknown; jobs: Record<string, { 'runs-on': string; permissions: Record<string, string>; steps: Step[] }> };
    const job = workflow.jobs.smoke;
    expect(job?.['runs-on']).toBe('ubuntu-latest');
    expect(job?.permissions).toMatchObject({ checks: 'write' });
    const steps = job?.steps ?? [];
    // Node and Python set up with caching; the report published and uploaded even when the run failed.
    expect(steps.find((step) => step.uses?.startsWith('actions/setup-node@'))?.with).toMatchObject({ cache: 'npm' });
    expect(steps.find((step) => step.uses?.startsWith('actions/setup-python@'))?.with).toMatchObject({ cache: 'pip' });
    expect(steps.find((step) => step.uses?.startsWith('mikepenz/action-junit-report@'))).toMatchObject({ if: '${{ !cancelled() }}', with: { report_paths: 'report.xml' } });
    expect(String(steps.find((step) => step.uses?.startsWith('actions/upload-artifact@'))?.with?.path)).toContain('report.xml');
    expect(steps.find((step) => step.name === 'Install')?.run).toMatch(/pip install torch --index-url https:\/\/download\.pytorch\.org\/whl\/cpu/);

    const ciOnly = steps.filter((step) => step.uses !== undefined || step.name === 'Install');
    const here = steps.filter((step) => !ciOnly.includes(step));
    expect(ciOnly.map((step) => step.uses ?? step.name)).toEqual(['actions/checkout@v4', 'actions/setup-node@v4', 'actions/setup-python@v5', 'Install', 'mikepenz/action-junit-report@v5', 'actions/upload-artifact@v4']);
    expect(here.map((step) => step.name)).toEqual(['Check the Python environment', 'Smoke run', 'Compare with the pinned answers']);

    const project = makeProject();
    const pinned = await runStep(project, blockAfter('Pin the answers once'), {});
    expect(pinned.exitCode, pinned.output).toBe(0);
    expect(existsSync(path.join(project, 'tests/smoke/expected.arrays'))).toBe(true);

    const summary = path.join(project, 'step-summary.md');
    const outputs: string[] = [];
    for (const step of here) {
      const result = await runStep(project, step.run ?? '', { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary });
      expect(result.exitCode, `step "${step.name}" failed:\n${result.output}`).toBe(0);
      outputs.push(result.output);
    }
    expect(outputs[2]).toMatch(/^agree: 6 item\(s\) of tests\/smoke\/expected\.jsonl match out\.jsonl, 6 array\(s\) compared/m);
    const report = junitSuite(readFileSync(path.join(project, 'report.xml'), 'utf8'));
    expect(report.properties).toMatchObject({ 'exit-code': '0', 'items-ok': '6', 'items-failed': '0' });
    expect(report.cases.filter((testCase) => failureOf(testCase))).toEqual([]);
    expect(readFileSync(summary, 'utf8')).toMatch(/### gpu-orchestrate: exit 0\n\n\| device \| replicas \|/);
  });

  it('the GitLab job parses, reports its JUnit file, and its script passes in order', async () => {
    const config = parse(blockAfter('(an image with Python and Node.js):')) as Record<string, { before_script: string[]; script: string[]; artifacts: { when: string; reports: { junit: string } } }>;
    const job = config.smoke;
    expect(job?.artifacts).toMatchObject({ when: 'always', reports: { junit: 'report.xml' } });
    expect(job?.before_script.join('\n')).toMatch(/npm ci[\s\S]*pip install torch --index-url https:\/\/download\.pytorch\.org\/whl\/cpu/);
    const project = makeProject();
    const pinned = await runStep(project, blockAfter('Pin the answers once'), {});
    expect(pinned.exitCode, pinned.output).toBe(0);
    // before_script installs (CI-only, as "Install" above); the script runs here, line by line as GitLab does.
    for (const line of job?.script ?? []) {
      const result = await runStep(project, line, { GITLAB_CI: 'true' });
      expect(result.exitCode, `"${line}" failed:\n${result.output}`).toBe(0);
    }
    expect(junitSuite(readFileSync(path.join(project, job?.artifacts.reports.junit ?? ''), 'utf8')).properties['exit-code']).toBe('0');
  });
});
