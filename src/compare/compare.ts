/**
 * `gpu-orchestrate compare OUTPUT REFERENCE`: two outputs item by item, by id, in any order (so
 * outputs written by different devices, in different orders, compare as equal). Prints a short
 * table of the differences and a one-line verdict on stdout; exit 0 when they agree, 1 when they
 * differ, 2 on bad input (thrown as a UsageError, which bin.ts maps).
 */
import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { ArrayFiles } from './arrays.js';
import { readLines } from './read.js';
import { differenceTable } from './table.js';
import { brief, compareValues, type CompareContext, type Difference, type Json } from './values.js';

/** Where an item ran and how long it took differ from run to run; a traceback names the machine's paths. */
export const IGNORED_BY_DEFAULT = ['device', 'replica', 'attempts', 'duration', 'error.traceback'];

export interface CompareOptions {
  rtol: string;
  atol: string;
  ignore: string[];
}

function tolerance(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a number of 0 or more, such as 1e-4`);
  return value;
}

function ignoreList(entries: string[]): string[] {
  const fields = entries.flatMap((entry) => entry.split(',')).map((field) => field.trim()).filter(Boolean);
  for (const field of fields) if (!/^[^.[\]]+(\.[^.[\]]+)*$/.test(field)) throw new UsageError(`--ignore ${JSON.stringify(field)}: expected a dotted field path such as result.timing (list positions are not written)`);
  return [...new Set([...IGNORED_BY_DEFAULT, ...fields])];
}

/** An item present on both sides: `ok` first (a changed verdict says all), then every other field. */
function compareItem(id: string, expected: { [key: string]: Json }, got: { [key: string]: Json }, context: CompareContext, out: Difference[]): void {
  if (expected.ok !== got.ok) {
    const verdict = (line: { [key: string]: Json }) => {
      const error = line.error as { type?: Json; message?: Json } | undefined;
      return line.ok === true ? 'ok' : `failed${error ? ` (${String(error.type)}: ${String(error.message)})` : ''}`;
    };
    out.push({ id, field: 'ok', expected: verdict(expected), got: verdict(got) });
    return;
  }
  const { id: _expectedId, ...expectedFields } = expected;
  const { id: _gotId, ...gotFields } = got;
  compareValues(id, '', expectedFields, gotFields, context, out);
}

export async function compareOutputs(outputPath: string, referencePath: string, options: CompareOptions, print: (text: string) => void): Promise<number> {
  const context: CompareContext = {
    tolerance: { rtol: tolerance('--rtol', options.rtol), atol: tolerance('--atol', options.atol) },
    ignore: ignoreList(options.ignore),
    got: new ArrayFiles(path.dirname(path.resolve(outputPath)), outputPath),
    expected: new ArrayFiles(path.dirname(path.resolve(referencePath)), referencePath),
    arrays: 0,
  };
  const [output, reference] = [await readLines(outputPath, 'OUTPUT'), await readLines(referencePath, 'REFERENCE')];
  const differences: Difference[] = [];
  const counts = { missing: 0, extra: 0, changed: 0 };
  try {
    for (const [id, expected] of reference.lines) {
      const got = output.lines.get(id);
      if (!got) {
        counts.missing += 1;
        differences.push({ id, field: '(item)', expected: `present (${expected.ok === true ? 'ok' : 'failed'})`, got: 'missing' });
        continue;
      }
      const before = differences.length;
      compareItem(id, expected, got, context, differences);
      if (differences.length > before) counts.changed += 1;
    }
    for (const [id, got] of output.lines) {
      if (reference.lines.has(id)) continue;
      counts.extra += 1;
      differences.push({ id, field: '(item)', expected: 'absent', got: `present (${got.ok === true ? 'ok' : 'failed'}${got.result === undefined ? '' : `: ${brief(got.result)}`})` });
    }
  } finally {
    context.got.close();
    context.expected.close();
  }
  const { rtol, atol } = context.tolerance;
  const settings = `rtol=${rtol}, atol=${atol}; ignored: ${context.ignore.join(', ')}`;
  if (differences.length === 0) {
    print(`agree: ${reference.lines.size} item(s) of ${referencePath} match ${outputPath}, ${context.arrays} array(s) compared (${settings})\n`);
    return ExitCode.ok;
  }
  const items = counts.missing + counts.extra + counts.changed;
  print(`${differenceTable(differences)}\n`);
  print(`differ: ${items} item(s) differ (${counts.missing} missing, ${counts.extra} extra, ${counts.changed} changed) of the ${reference.lines.size} in ${referencePath} (${settings})\n`);
  return ExitCode.itemsFailed;
}
