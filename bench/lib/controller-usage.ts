/**
 * Preloaded into the controller by the benchmarks (node --import), never by a user: when the
 * process exits it writes what getrusage says it used (peak RSS, CPU time) to the file named by
 * GPU_ORCHESTRATE_BENCH_USAGE. The process's own account, read at its very end, so nothing polls
 * it while it runs and no peak between two polls is missed.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.GPU_ORCHESTRATE_BENCH_USAGE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKiB: usage.maxRSS, userMicros: usage.userCPUTime, systemMicros: usage.systemCPUTime }));
  });
}
