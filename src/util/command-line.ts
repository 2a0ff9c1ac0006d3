/** Command lines to print: the user's, with flags added or removed ("to continue, run ..."), and words for a shell. */

/** One word for a POSIX shell, quoted only when it must be. */
export function shellQuote(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** The command line as the user typed it, with flags added or removed. */
export function commandLineWith(argv: string[], change: { add: string[]; remove: string[] }): string {
  const kept = argv.filter((argument) => !change.remove.includes(argument));
  for (const flag of change.add) if (!kept.includes(flag)) kept.push(flag);
  return ['gpu-orchestrate', ...kept].map(shellQuote).join(' ');
}
