#!/usr/bin/env node
/** The command's entry: one top-level catch that maps named errors to exit codes. */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { buildCli } from './cli.js';
import { compareOutputs } from './compare/compare.js';
import { systemDiscovery } from './devices/nvidia-smi.js';
import { doctorReady, formatDoctor } from './doctor.js';
import { ExitCode, GpuOrchestrateError } from './errors.js';
import { buildRunConfig } from './options/config.js';
import { run } from './run.js';
import { doctor } from './workers/python.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// `gpu-orchestrate --help | head`, `gpu-orchestrate ... 2>&1 | head -1`: a reader that stops early
// is not an error, and it does not end a run (exiting here once left the run half done, its
// folder behind, with exit 0): what it would have read is dropped, and the run goes on to its end
// and its own exit code. The run's product is its output file, not this text.
const readerGone = new Set<NodeJS.WriteStream>();
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && !readerGone.has(stream)) throw error;
    readerGone.add(stream); // later writes fail too (the stream is destroyed): ignore them as well
  });
}
const writeTo = (stream: NodeJS.WriteStream) => (text: string) => {
  if (!readerGone.has(stream)) stream.write(text);
};

// A write past the file size limit (ulimit -f) must fail with EFBIG, which the journal reports
// as a write error, not kill the controller with SIGXFSZ. Node ignores SIGXFSZ, but execa's
// cleanup (signal-exit) listens for it and raises it again when it is the only listener.
process.on('SIGXFSZ', () => undefined);

async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildCli(packageJson.version, {
    async run(raw) {
      const config = buildRunConfig(raw);
      exitCode = await run(config, {
        stdout: writeTo(process.stdout),
        stderr: writeTo(process.stderr),
        // A terminal that reports no width (some pseudo-terminals) gets the line view: rows need a width.
        isTTY: Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0,
        argv: argv.slice(2),
      });
    },
    async doctor(options) {
      const report = await doctor(options.python);
      writeTo(process.stdout)(formatDoctor(report, systemDiscovery()));
      if (!doctorReady(report)) exitCode = ExitCode.setup;
    },
    async compare(output, reference, options) {
      exitCode = await compareOutputs(output, reference, options, (text) => process.stdout.write(text));
    },
  });
  // Subcommands copy the setting only when made after it: set it on each, so that their usage
  // errors (a missing argument of compare) exit 2 as the program's do.
  for (const command of [program, ...program.commands]) command.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof GpuOrchestrateError) {
      writeTo(process.stderr)(`gpu-orchestrate: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`gpu-orchestrate: internal error: ${(error as Error).stack ?? String(error)}\nPlease report it with the command you ran.\n`);
    process.exitCode = 70;
  },
);
