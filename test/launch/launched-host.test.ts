import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LaunchedHost } from '../../src/launch/launched-host.js';
import { describeDeath } from '../../src/workers/death.js';

const srunLike = { launcher: 'srun', node: 'gpo-n2', ownLine: /^\s*(srun|slurmstepd\S*): /, stop: 'kill' as const };

describe('a host started through srun or ssh', () => {
  it("is gone when its launcher ends, described as the launcher's end (srun's exit status is not the host's)", async () => {
    const printed: string[] = [];
    const program = execa('sh', ['-c', 'echo "loading the model"; echo "srun: error: Node failure on gpo-n2" >&2; exit 0'], { all: true, buffer: false, reject: false });
    const host = new LaunchedHost(program, srunLike, (line) => printed.push(line));
    const death = await host.exited;
    expect(host.pid).toBeUndefined();
    expect(host.firstHeartbeatAllowanceMs).toBe(Infinity);
    expect(death).toMatchObject({ exitCode: 0, node: 'gpo-n2', launcher: 'its srun exited with code 0 after: srun: error: Node failure on gpo-n2' });
    expect(describeDeath(death)).toBe('the device host on gpo-n2 is gone: its srun exited with code 0 after: srun: error: Node failure on gpo-n2');
    expect(printed).toEqual(expect.arrayContaining(['loading the model', 'srun: error: Node failure on gpo-n2']));
  });

  it('an ssh host is stopped by closing its input (the remote session then stops the host); srun by ending srun', async () => {
    const ssh = new LaunchedHost(execa('cat', [], { stdin: 'pipe', all: true, buffer: false, reject: false }), { ...srunLike, launcher: 'ssh', stop: 'close-input' }, () => undefined);
    ssh.stop();
    expect(await ssh.exited).toMatchObject({ exitCode: 0, launcher: 'its ssh exited with code 0' });
    const srun = new LaunchedHost(execa('sleep', ['60'], { all: true, buffer: false, reject: false }), srunLike, () => undefined);
    srun.stop();
    expect(await srun.exited).toMatchObject({ signal: 'SIGKILL', launcher: 'its srun was killed by SIGKILL' });
  });
});
