/** The command line as the user typed it, with flags added or removed: for "to continue, run ...". */
function quote(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}

export function commandLineWith(argv: string[], change: { add: string[]; remove: string[] }): string {
  const kept = argv.filter((argument) => !change.remove.includes(argument));
  for (const flag of change.add) if (!kept.includes(flag)) kept.push(flag);
  return ['gpu-orchestrate', ...kept].map(quote).join(' ');
}
