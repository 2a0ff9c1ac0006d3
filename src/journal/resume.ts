/**
 * --resume: which items the output already holds, without holding every id.
 *
 * Every line carries its item's ordinal ("index"), and the output is kept as one fingerprint of
 * the id per ordinal (recorded.ts). An item is then done when the fingerprint at its ordinal is
 * its id's. That is exact only while the inputs are where the output says they were: an item
 * that moved (a file deleted before it in a folder, a list edited) could sit at an ordinal that
 * no line names while a line names it at another. So a first pass over the inputs checks that
 * every ordinal the output names holds the item it names (it also counts what is left to run,
 * the total for the progress row); then no item can be recorded elsewhere, since it would have
 * to be at that other ordinal too, and ids are unique.
 *
 * When the check fails (or the inputs cannot be read twice: standard input), the resume goes by
 * id, as it did before lines carried ordinals: every id of the output is held, and it says so.
 */
import { UsageError } from '../errors.js';
import type { InputSource, Item } from '../inputs/read-inputs.js';
import { fingerprint } from '../util/id-hash.js';
import { readJournal, readJournalIds, type JournalContents } from './read-back.js';

/** done: the output holds the item; moved: it names another item at this ordinal (the inputs changed during the run). */
export type ItemStatus = 'done' | 'todo' | 'moved';

export interface ResumePlan {
  /** What the output says of the item at this ordinal. */
  status(ordinal: number, id: string): ItemStatus;
  /** Items within --limit still to run; undefined when only reading the inputs will tell (standard input). */
  todo: number | undefined;
  /** What the resume found, for the user: "resuming out.jsonl: 25 item(s) already done, 5 to run; ...". */
  notice: string;
  /** The lines the output holds and keeps (ok, and failed unless --retry-failed): what this run need not do. */
  held: number;
}

interface Pass {
  /** Items within the limit that `recorded` does not hold. */
  todo: number;
  /** Ordinals the output names that hold the item it names there, and that hold another. */
  matched: number;
  moved: number;
}

/**
 * One pass over every item of the inputs (the limit only bounds what is counted as to do). By
 * ordinal, unless `ids` is given: then what is done is what they hold.
 */
async function pass(source: InputSource, limit: number, contents: JournalContents, ids?: Set<string>): Promise<Pass> {
  const { recorded } = contents;
  const result: Pass = { todo: 0, matched: 0, moved: 0 };
  let ordinal = 0;
  for await (const items of source.chunks()) {
    for (const item of items as Item[]) {
      const print = recorded.at(ordinal);
      const here = print !== 0 && print === fingerprint(item.id);
      if (here) result.matched += 1;
      else if (print !== 0) result.moved += 1;
      const done = ids ? ids.has(item.id) : here || recorded.unordered.has(item.id);
      if (ordinal < limit && !done) result.todo += 1;
      ordinal += 1;
    }
  }
  return result;
}

function byId(ids: Set<string>): ResumePlan['status'] {
  return (_, id) => (ids.has(id) ? 'done' : 'todo');
}

export async function planResume(output: string, source: InputSource, options: { dropFailed: boolean; limit: number | undefined }): Promise<ResumePlan> {
  const contents = await readJournal(output, options);
  const { recorded: kept } = contents;
  const limit = options.limit ?? Infinity;
  const held = contents.ok + contents.failed;
  const notes = [
    contents.tornBytes > 0 ? `cut a torn last line (${contents.tornBytes} bytes)` : '',
    contents.removedFailed > 0 ? `${contents.removedFailed} failed item(s) to run again` : '',
    contents.unreadable > 0 ? `${contents.unreadable} unreadable line(s) skipped` : '',
    contents.failed > 0 ? `${contents.failed} failed item(s) kept (add --retry-failed to run them again)` : '',
  ];
  const notice = (todo: number | undefined) => {
    const left = todo === undefined ? 'the rest of standard input to run' : `${todo} to run`;
    const said = notes.filter(Boolean);
    return `resuming ${output}: ${contents.ok} item(s) already done, ${left}${said.length ? `; ${said.join('; ')}` : ''}\n`;
  };

  if (!source.rereadable) {
    // Nothing can be checked ahead: go by id (the ids of lines without an ordinal are held anyway).
    const status = kept.ordinals > 0 ? byId(await readJournalIds(output)) : byId(kept.unordered);
    return { status, todo: undefined, notice: notice(undefined), held };
  }

  const byOrdinal: ResumePlan['status'] = (ordinal, id) => {
    const print = kept.at(ordinal);
    if (print !== 0) return print === fingerprint(id) ? 'done' : 'moved';
    return kept.unordered.has(id) ? 'done' : 'todo';
  };
  const checked = await pass(source, limit, contents);
  if (checked.moved === 0 && checked.matched === kept.ordinals && kept.conflicts === 0) {
    return { status: byOrdinal, todo: checked.todo, notice: notice(checked.todo), held };
  }
  const why = kept.conflicts > 0 ? `${kept.conflicts} place(s) in the inputs are named by two of its lines with different items` : `${kept.ordinals - checked.matched} of its line(s) name items that are no longer at the same place in ${source.description}`;
  notes.push(`${why}: resuming by id, which holds every id of the output in memory`);
  const ids = await readJournalIds(output);
  const { todo } = await pass(source, limit, contents, ids);
  return { status: byId(ids), todo, notice: notice(todo), held };
}

/** The inputs changed while the run read them: an item is not where the check before the run found it. */
export function movedError(source: InputSource, ordinal: number, id: string): UsageError {
  return new UsageError(
    `${source.description} changed while the run read it: item ${ordinal + 1} is now ${JSON.stringify(id)}, which is not what the output's line for that place names. What ran is in the output; run again with --resume.`,
  );
}
