/** Commander definitions only: what the command line accepts and how --help teaches it. */
import { Command, Option } from 'commander';
import { DEFAULTS, type RawOptions } from './options/config.js';

export interface CliHandlers {
  run(options: RawOptions): Promise<void>;
  /**
   * `python`: the interpreter a run would use (--python before or after `doctor`, else the
   * environment, else the default). `launcher` slurm: on every node of the allocation.
   */
  doctor(options: { python: string; launcher?: string; script?: string; inputs?: string }): Promise<void>;
  compare(output: string, reference: string, options: CompareRawOptions): Promise<void>;
}

/** What commander hands over for `compare`: strings, checked by src/compare/. */
export interface CompareRawOptions {
  rtol: string;
  atol: string;
  ignore: string[];
}

const EXAMPLES = `
Examples:
  # every PNG under images/, on every GPU, two model replicas per GPU
  $ gpu-orchestrate --script detect.py --inputs 'images/**/*.png' --output results.jsonl --workers-per-gpu 2

  # a JSONL file of items on GPUs 0 and 2, with an option for the script
  $ gpu-orchestrate --script match.py --inputs pairs.jsonl --output matches.jsonl --gpus 0,2 --opt threshold=0.2

  # try it on the CPU, first the plan, then the first 100 items
  $ gpu-orchestrate --script detect.py --inputs images/ --output out.jsonl --gpus cpu:2 --dry-run
  $ gpu-orchestrate --script detect.py --inputs images/ --output out.jsonl --gpus cpu:2 --limit 100

  # continue after Ctrl-C or a crash; then run only the failed items again
  $ gpu-orchestrate --script detect.py --inputs images/ --output out.jsonl --resume
  $ gpu-orchestrate --script detect.py --inputs images/ --output out.jsonl --resume --retry-failed

  # check the Python environment
  $ gpu-orchestrate doctor

  # a CI smoke test: a JUnit report, stop after 5 failed items, then the answers checked against a reference
  $ gpu-orchestrate --script detect.py --inputs tests/smoke/inputs/ --output out.jsonl --gpus cpu:1 --report-junit report.xml --max-failures 5
  $ gpu-orchestrate compare out.jsonl tests/smoke/expected.jsonl --atol 1e-4

The script defines setup(ctx) -> model and infer(model, batch) -> one result per item.
Each output line: {"id", "index", "ok", "input", "result" | "error", "device", "replica", "attempts", "duration"}.

Exit codes: 0 every item succeeded; 1 some items failed (see their lines); 2 bad command line or
inputs, or the output is being written by another run; 3 the script or Python environment cannot
run (nothing ran); 4 every device was lost (what finished is in the output); 74 the output could
not be written, e.g. a full disk (what is in it is whole; --resume continues); 130 interrupted
(--resume continues).`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function buildCli(version: string, handlers: CliHandlers): Command {
  const program = new Command('gpu-orchestrate')
    .description('Run a single-GPU PyTorch inference script over many inputs on every GPU of this machine, with dynamic sharding, one or more model replicas per GPU, retries, resume, live progress and one JSONL output.')
    .version(version, '-V, --version')
    .option('--script <path>', 'your Python script, defining setup(ctx) and infer(model, batch) (required)')
    .option('--inputs <spec>', "the items: a glob ('images/**/*.png'), a folder, a text file of paths, a .jsonl file of JSON values, or - for standard input (required)")
    .option('--output <file>', 'the JSONL result file, one line per item; arrays go to the .arrays file beside it (required)')
    .option('--gpus <list>', 'all (CUDA_VISIBLE_DEVICES, else nvidia-smi, else one CPU device), GPU indices such as 0,2, or cpu:N', DEFAULTS.gpus)
    .option('--workers-per-gpu <n>', 'model replicas per device, or auto: start one, add more while throughput grows and memory allows (CPU devices: one)', String(DEFAULTS.workersPerGpu))
    .option('--memory-headroom <size>', `with --workers-per-gpu auto: free device memory every added replica must leave (default ${DEFAULTS.memoryHeadroom})`)
    .option('--batch-size <n>', 'items per infer() call', String(DEFAULTS.batchSize))
    .option('--prefetch <n>', 'batches a replica holds at once: one running, the rest waiting', String(DEFAULTS.prefetch))
    .addOption(new Option('--python <path>', 'the Python interpreter with torch, pyzmq, msgpack and numpy').env('GPU_ORCHESTRATE_PYTHON').default(DEFAULTS.python))
    .option('--opt <key=value>', 'an option for the script, in ctx.options (repeatable)', collect)
    .option('--limit <n>', 'run only the first n items')
    .option('--retries <n>', 'further tries of an item that ran out of memory or timed out', String(DEFAULTS.retries))
    .option('--timeout <seconds>', 'the most an item may take (a batch: this times its size); a replica past it is killed and restarted')
    .option('--resume', 'continue an interrupted run: keep the output, run only the items it lacks')
    .option('--retry-failed', 'with --resume (implied): also run again the items recorded as failed')
    .option('--overwrite', 'start the output again if it exists')
    .option('--grace <seconds>', 'after Ctrl-C, how long running batches get to finish', String(DEFAULTS.graceSeconds))
    .option('--dry-run', 'print the devices, replicas and item count, start nothing')
    .option('--quiet', 'errors only: no progress, summary, notices or warnings')
    .option('--verbose', "show the script's own output and full tracebacks")
    .addOption(new Option('--listen <host[:port]>', 'device hosts connect over TCP, encrypted and admitted with keys made for the run (CURVE), to this address of this machine; one port (0 or none: any free port). Default: ipc on this machine; with --launcher slurm or ssh, this machine\'s address on the route to the nodes; --launcher external requires it').env('GPU_ORCHESTRATE_LISTEN'))
    .option('--advertise <host>', 'with --listen: the name or address device hosts connect to, when it is not the one listened on (0.0.0.0, or a machine with several networks)')
    .option('--max-failures <n>', 'stop as Ctrl-C does (no new work, running batches finish, the output resumable) once n items have failed; exit 1')
    .option('--fail-fast', 'the same as --max-failures 1')
    .option('--report-junit <file>', 'write a JUnit XML report at the end of the run (failed items, devices, why the run stopped), for CI')
    .option('--report-junit-all', 'list every item in the JUnit report, not only the failed ones')
    .option('--launcher <name>', 'how device hosts start: local (here), slurm (an srun step per host on every node of the allocation: the default inside one with --gpus all), ssh (--hosts FILE), or external (prints the command that starts a host, for any other launcher)')
    .option('--hosts <file>', 'with --launcher ssh: the machines, one per line as HOST slots=N (N GPUs there; with --gpus cpu:M, M CPU devices)')
    .option('--ranks <n>', 'with --launcher external: how many device hosts will join, ranks 0 to n-1')
    .option('--min-hosts <n>', 'with slurm, ssh or external: stop when fewer than n device hosts have checked in by --start-timeout (default 1)')
    .option('--start-timeout <seconds>', 'with slurm, ssh or external: how long device hosts have to check in (default 600)')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run gpu-orchestrate --help for usage)')
    .action(async (options: RawOptions) => handlers.run(options));

  // --python is the program's one option, parsed before or after `doctor` alike: a second
  // definition on the subcommand would shadow it with its own default.
  program
    .command('doctor')
    .description('print the Python interpreter, torch and CUDA versions, the GPUs found and each package; exit 3 when not ready')
    .addHelpText('after', `\nThe interpreter checked is the one a run would use: --python PATH (before or after doctor), else $GPU_ORCHESTRATE_PYTHON, else ${DEFAULTS.python}.\nWith --launcher slurm (inside an allocation), it checks every node through srun, one row per node; --script PATH also checks that the script can be read there, and --inputs SPEC that the first items that are paths can.\n`)
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals();
      await handlers.doctor({ python: String(options.python), launcher: options.launcher as string | undefined, script: options.script as string | undefined, inputs: options.inputs as string | undefined });
    });

  program
    .command('compare <output> <reference>')
    .description('compare two outputs item by item (by id, in any order): arrays and floats within tolerances, everything else exactly; exit 0 when they agree, 1 when they differ, 2 on bad input')
    .option('--rtol <r>', 'relative tolerance, as numpy.allclose: |got - expected| <= atol + rtol * |expected|', '1e-05')
    .option('--atol <a>', 'absolute tolerance, as numpy.allclose', '1e-08')
    .option('--ignore <fields>', 'more fields to leave out, comma-separated dotted paths such as result.timing (device, replica, attempts, duration and error.traceback always are)', collect)
    .action(async (output: string, reference: string, options: { rtol: string; atol: string; ignore?: string[] }) => handlers.compare(output, reference, { rtol: options.rtol, atol: options.atol, ignore: options.ignore ?? [] }));

  return program;
}
