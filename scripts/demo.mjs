#!/usr/bin/env node
/**
 * `npm run demo`: classify 48 generated images with ResNet-18 on every device of this machine.
 *
 *   1. makes the images once, in $XDG_CACHE_HOME/gpu-orchestrate/demo-images (~/.cache/...;
 *      the system's temporary folder when that is not writable),
 *   2. runs gpu-orchestrate --script examples/classify.py --inputs <those images>
 *      --output demo-results.jsonl --gpus all, plus any arguments given to this script
 *      (`npm run demo -- --gpus cpu:2`: a --gpus or --output given replaces the default),
 *   3. says where the results are and how to read them back, and exits with the CLI's code.
 *
 * Plain Node (no build step, builtins only). Paths are resolved from this file's location, so it
 * works from any working directory; the CLI itself runs in the caller's working directory so
 * that relative paths in the extra arguments (--opt weights=./r18.pth) mean what they say.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliPath = path.join(repoRoot, 'dist', 'src', 'bin.js');
const classifyScript = path.join(repoRoot, 'examples', 'classify.py');
const imageMaker = path.join(repoRoot, 'examples', 'make_demo_images.py');
const defaultOutput = path.join(repoRoot, 'demo-results.jsonl');

// The CLI's exit code when the Python environment cannot run (see the CLI's --help).
const EXIT_ENVIRONMENT = 3;

const extraArgs = process.argv.slice(2);

/** The value of `--name value` or `--name=value` among the extra arguments; the last one wins, as in the CLI. */
function optionValue(args, name) {
  let value;
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === name && i + 1 < args.length) value = args[i + 1];
    else if (args[i].startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
  }
  return value;
}

/**
 * mkdir -p, one level at a time: mkdirSync's own { recursive: true } can spin forever on some
 * special file systems (it does under /proc with Node 20), and a demo must fail, not hang.
 */
function makeFolder(folder) {
  const parent = path.dirname(folder);
  if (parent !== folder && !existsSync(parent)) makeFolder(parent);
  try {
    mkdirSync(folder);
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
}

/** The first folder of the cache location, then the temporary folder, that can be written to. */
function imageFolder() {
  const xdg = process.env.XDG_CACHE_HOME;
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and must be ignored.
  const cacheHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  const user = process.getuid?.() ?? 'user'; // the temporary folder is shared by every user
  const candidates = [
    path.join(cacheHome, 'gpu-orchestrate', 'demo-images'),
    path.join(os.tmpdir(), `gpu-orchestrate-demo-images-${user}`),
  ];
  for (const folder of candidates) {
    try {
      makeFolder(folder);
      accessSync(folder, constants.W_OK);
      return folder;
    } catch {
      // not writable (read-only home, no home at all): try the next one
    }
  }
  throw new Error(`none of these folders can be written to: ${candidates.join(', ')}`);
}

/** A path as the user should type it: relative when it lies under the working directory. */
function shown(file) {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/** One word for a POSIX shell: left bare when safe, else single-quoted. */
function shellQuote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function fail(message, code) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code);
}

if (!existsSync(cliPath)) fail(`${shown(cliPath)} is missing: build first with npm run build (npm run demo does both)`, 1);

// The same interpreter the CLI will use: --python wins over GPU_ORCHESTRATE_PYTHON, as in the CLI.
const python = optionValue(extraArgs, '--python') ?? process.env.GPU_ORCHESTRATE_PYTHON ?? 'python3';

let folder;
try {
  folder = imageFolder();
} catch (error) {
  fail(`no place for the demo images: ${error.message}`, 1);
}

const made = spawnSync(python, [imageMaker, folder], { stdio: 'inherit' });
if (made.error) {
  fail(`cannot run ${python} (${made.error.message}); install Python 3 or name the interpreter with GPU_ORCHESTRATE_PYTHON`, EXIT_ENVIRONMENT);
}
if (made.status !== 0) fail(`making the demo images failed (${python} exited with ${made.status ?? made.signal})`, EXIT_ENVIRONMENT);

const output = path.resolve(optionValue(extraArgs, '--output') ?? defaultOutput);
const continuing = extraArgs.includes('--resume') || extraArgs.includes('--retry-failed');
if (output === defaultOutput && !continuing) {
  // The demo is meant to be run again and again: start its own output afresh each time. An
  // --output of the user's is never deleted, and --resume needs the old output.
  rmSync(defaultOutput, { force: true });
  rmSync(path.join(repoRoot, 'demo-results.arrays'), { force: true });
}

const args = [cliPath, '--script', classifyScript, '--inputs', folder];
// Defaults only where the extra arguments say nothing, so the CLI's --resume hint stays clean.
if (optionValue(extraArgs, '--output') === undefined) args.push('--output', defaultOutput);
if (optionValue(extraArgs, '--gpus') === undefined) args.push('--gpus', 'all');
args.push(...extraArgs);
const child = spawn(process.execPath, args, { stdio: 'inherit' });

// Ctrl-C reaches the CLI directly (same process group), and the CLI finishes cleanly on its
// own: this process must stay alive to pass on its exit code, and must not send a second
// signal (which the CLI would take as "stop now"). A SIGTERM aimed at this process alone is
// passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));

const code = await new Promise((resolve) => {
  child.on('error', (error) => {
    process.stderr.write(`demo: cannot start ${process.execPath}: ${error.message}\n`);
    resolve(1);
  });
  child.on('exit', (status, signal) => resolve(status ?? 128 + (os.constants.signals[signal] ?? 0)));
});

// 0: every item ok; 1: some failed, and their lines say why. Otherwise the CLI has said what happened.
if ((code === 0 || code === 1) && existsSync(output)) {
  const shownOutput = shown(output);
  const arrays = path.join(path.dirname(output), `${path.basename(output, '.jsonl')}.arrays`);
  const readBack =
    'from gpu_orchestrate_worker import read_output; ' +
    `r = next(r for r in read_output(${JSON.stringify(shownOutput)}) if r["ok"]); ` +
    'print(r["id"], r["result"]["top5"][0], r["result"]["embedding"].dtype, r["result"]["embedding"].shape)';
  const pythonPath = shellQuote(shown(path.join(repoRoot, 'python')));
  process.stdout.write(`\nresults: ${shownOutput}, one JSON line per image (embeddings in ${shown(arrays)})\n`);
  process.stdout.write(`read them back: PYTHONPATH=${pythonPath} ${shellQuote(python)} -c ${shellQuote(readBack)}\n`);
  if (!extraArgs.some((arg) => arg.startsWith('weights=') || arg.startsWith('--opt=weights='))) {
    process.stdout.write('note: no --opt weights=PATH, so the model has random weights: its classes are meaningless, the plumbing is the point\n');
  }
}
process.exitCode = code;
