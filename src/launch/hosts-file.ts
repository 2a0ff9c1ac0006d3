/**
 * The hosts file of --launcher ssh: one machine per line, `HOST slots=N` (N devices there: its
 * GPUs 0 to N-1, or with --gpus cpu:M, M CPU devices whatever N says). HOST is what ssh takes
 * (a name from ~/.ssh/config, user@host). `#` starts a comment; blank lines are skipped. The
 * format is MPI's hostfile's (Open MPI, DeepSpeed), so an existing one is read as it is.
 */
import { UsageError } from '../errors.js';

export interface SshHost {
  /** As ssh takes it. */
  destination: string;
  /** The machine's name in device labels: the destination without its user. */
  node: string;
  slots: number;
}

export function parseHostsFile(text: string, file: string): SshHost[] {
  const hosts: SshHost[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${file}, line ${index + 1}`;
    const [destination, ...fields] = line.split(/\s+/) as [string, ...string[]];
    let slots = 1;
    for (const field of fields) {
      const match = /^slots=(\d+)$/.exec(field);
      if (!match || Number(match[1]) < 1) throw new UsageError(`${where}: ${JSON.stringify(field)} is not slots=N (N from 1); write each machine as HOST slots=N`);
      slots = Number(match[1]);
    }
    if (destination.startsWith('-')) throw new UsageError(`${where}: ${JSON.stringify(destination)} is not a host name`);
    const node = destination.slice(destination.lastIndexOf('@') + 1);
    if (hosts.some((host) => host.node === node)) throw new UsageError(`${where}: ${node} is listed twice; give it one line with all its slots`);
    hosts.push({ destination, node, slots });
  });
  if (hosts.length === 0) throw new UsageError(`${file} names no host; write the machines one per line as HOST slots=N`);
  return hosts;
}
