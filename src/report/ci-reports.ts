/**
 * The reports CI reads, written at the end of every run that started, however it ended (exit 0,
 * 1, 3, 4, 130, or an error nobody expected): the JUnit XML file (--report-junit) and, on GitHub
 * Actions, the error annotations and the step summary. A report that cannot be written is a
 * warning: the run's own exit code still says how the run went.
 */
import { appendFileSync } from 'node:fs';
import type { RunConfig } from '../options/config.js';
import { annotations, stepSummary } from './github.js';
import { junitXml, writeJunit } from './junit.js';
import { exitCodeOf, type RunEnd, type RunRecord } from './run-record.js';

export interface CiIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function writeReports(config: RunConfig, record: RunRecord, end: RunEnd, io: CiIo): Promise<void> {
  const now = record.stats?.endedAt ?? Date.now();
  if (config.reportJunit) {
    try {
      await writeJunit(config.reportJunit, junitXml(config, record, end, now));
    } catch (error) {
      io.stderr(`warning: could not write the JUnit report ${config.reportJunit}: ${describe(error)}. Check that its folder is writable; the run's output is unaffected.\n`);
    }
  }
  if (io.env.GITHUB_ACTIONS !== 'true') return;
  // Errors are printed even with --quiet: they are what a CI job's page must show.
  for (const line of annotations(record, end, config.output)) io.stdout(`${line}\n`);
  const summaryFile = io.env.GITHUB_STEP_SUMMARY;
  if (!summaryFile) return;
  try {
    appendFileSync(summaryFile, stepSummary(record, end, config.output, now));
  } catch (error) {
    io.stderr(`warning: could not append the summary to $GITHUB_STEP_SUMMARY (${summaryFile}): ${describe(error)}\n`);
  }
}

/** Runs `run` (the part of a run after the command line was checked), then writes the reports. */
export async function withCiReports(config: RunConfig, record: RunRecord, io: CiIo, run: () => Promise<number>): Promise<number> {
  let exitCode: number;
  try {
    exitCode = await run();
  } catch (error) {
    await writeReports(config, record, { exitCode: exitCodeOf(error), error }, io);
    throw error;
  }
  await writeReports(config, record, { exitCode, error: undefined }, io);
  return exitCode;
}
