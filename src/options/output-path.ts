/**
 * Where --output may point: a regular file (new or existing) in a folder that exists, and never
 * the user's own script or input list, which --overwrite would empty and --resume append to.
 */
import { existsSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { arraysPathFor } from '../journal/paths.js';

function kindOf(info: Stats): string {
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function sameFile(a: string, b: string): boolean {
  const first = statSync(a, { throwIfNoEntry: false });
  const second = statSync(b, { throwIfNoEntry: false });
  return first !== undefined && second !== undefined && first.ino === second.ino && first.dev === second.dev;
}

/**
 * `given`: --output as typed, for the message; `output`: resolved. `protectedFiles`: what the
 * run reads (--script, and --inputs when it is a file), by the flag that names it.
 */
export function checkOutputPath(given: string, output: string, protectedFiles: Record<string, string>): void {
  const info = statSync(output, { throwIfNoEntry: false });
  if (info?.isDirectory()) throw new UsageError(`--output ${given}: is a directory; give a file path such as results.jsonl`);
  // /dev/null, a FIFO...: the output is the run's journal, read back by --resume; it must be a file.
  if (info && !info.isFile()) throw new UsageError(`--output ${given}: is ${kindOf(info)}, not a file; give a file path such as results.jsonl`);
  if (!existsSync(path.dirname(output))) {
    throw new UsageError(`--output ${given}: the folder ${path.dirname(output)} does not exist; create it first`);
  }
  for (const written of [output, arraysPathFor(output)]) {
    for (const [flag, file] of Object.entries(protectedFiles)) {
      if (sameFile(written, file)) {
        throw new UsageError(`--output ${given}: ${written === output ? 'it' : `its arrays file ${written}`} is the same file as ${flag} ${file}, which the run would overwrite; give another --output`);
      }
    }
  }
}
