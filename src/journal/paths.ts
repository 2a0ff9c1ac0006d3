/**
 * Names of the files beside an output. Apart from the journal, so that the option checks can
 * name them without loading the journal (and the file system calls that tests replace in it).
 */
import path from 'node:path';

/** results.jsonl -> results.arrays; out.json -> out.json.arrays. */
export function arraysPathFor(output: string): string {
  const parsed = path.parse(output);
  return path.join(parsed.dir, `${parsed.ext === '.jsonl' ? parsed.name : parsed.base}.arrays`);
}
