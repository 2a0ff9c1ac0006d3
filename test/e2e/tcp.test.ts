/**
 * Device hosts over TCP with CURVE (--listen 127.0.0.1), on one machine: the same output as over
 * ipc, the run's keys on no command line, rogue clients kept out, and hosts that cannot see the
 * controller's pid stopping on its silence when it is SIGKILLed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { curveKeyPair, Dealer } from 'zeromq';
import { encode } from '../../src/transport/codec.js';
import type { CurveClientKeys } from '../../src/transport/curve.js';
import { hostRoute, PROTOCOL_VERSION, taskRoute } from '../../src/transport/messages.js';
import { expectEachIdOnce, expectNoSurvivors, itemsFile, loggedIds } from '../helpers/checks.js';
import { fixture, hostPids, isAlive, linesSoFar, logLines, runCli, scratchDir, startCli, waitFor, type StartedCli } from '../helpers/cli.js';

const LISTENING = /listening on tcp:\/\/127\.0\.0\.1:(\d+); only this run's device hosts can connect/;

/** The run's keys, as a device host of the run was given them (its environment; root may read it). */
function hostKeys(marker: string): CurveClientKeys | undefined {
  for (const pid of hostPids(marker)) {
    try {
      const variable = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((entry) => entry.startsWith('GPU_ORCHESTRATE_HOST_CONFIG='));
      const curve = variable ? (JSON.parse(variable.slice(variable.indexOf('=') + 1)) as { curve: CurveClientKeys }).curve : undefined;
      if (curve?.client_secret) return curve;
    } catch {
      // the host is starting or gone: try the next
    }
  }
  return undefined;
}

/** Command lines of every process on the machine that holds one of `secrets`. */
function commandLinesHolding(secrets: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (secrets.some((secret) => commandLine.includes(secret))) found.push(`${entry}: ${commandLine.replaceAll('\0', ' ')}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

async function runningKeys(run: StartedCli): Promise<CurveClientKeys> {
  let keys: CurveClientKeys | undefined;
  await waitFor(() => (keys = hostKeys(run.marker)) !== undefined, "a device host of the run, with the run's keys");
  return keys as CurveClientKeys;
}

/** What an output says of each item, without where it ran. */
function contents(output: string): unknown[] {
  return expectEachIdOnce(output, 300)
    .map((line) => ({ id: line.id, input: line.input, ok: line.ok, echo: (line.result as { echo: unknown }).echo }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

describe('over TCP with CURVE on 127.0.0.1', () => {
  it('gives the same output as over ipc; the run\'s keys are on no process\'s command line', async () => {
    const dir = scratchDir();
    const inputs = itemsFile(dir, 300);
    const args = (output: string) => ['--script', fixture('echo.py'), '--inputs', inputs, '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', 'delay=0.01'];
    const overIpc = await runCli(args(path.join(dir, 'ipc.jsonl')));
    expect(overIpc.exitCode, overIpc.stderr).toBe(0);
    expect(overIpc.stderr).not.toMatch(/listening on/);

    const run = startCli([...args(path.join(dir, 'tcp.jsonl')), '--listen', '127.0.0.1']);
    const keys = await runningKeys(run);
    const secrets = [keys.client_secret, keys.client_public, keys.server_public];
    // Looked at until the run ends: the controller, the hosts, and the replicas once they run.
    let looks = 0;
    while (linesSoFar(path.join(dir, 'tcp.jsonl')) < 300 && !isDone(run)) {
      expect(commandLinesHolding(secrets)).toEqual([]);
      looks += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const overTcp = await run.done;
    expect(overTcp.exitCode, overTcp.stderr).toBe(0);
    expect(looks).toBeGreaterThan(0);
    expect(overTcp.stderr).toMatch(LISTENING);
    expect(`${overTcp.stdout}${overTcp.stderr}`).not.toContain(keys.client_secret);
    expect(contents(path.join(dir, 'tcp.jsonl'))).toEqual(contents(path.join(dir, 'ipc.jsonl')));
    await expectNoSurvivors(overTcp.marker);
  });

  it('an address that is not this machine\'s is refused with exit 2, saying what to give instead', async () => {
    const dir = scratchDir();
    const result = await runCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 4), '--output', path.join(dir, 'out.jsonl'), '--gpus', 'cpu:1', '--listen', '192.0.2.1:5555']); // TEST-NET-1: no machine's
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--listen: cannot listen on tcp:\/\/192\.0\.2\.1:5555 \(.+\): give an address of this machine \(or 0\.0\.0\.0 with --advertise\)/);
  });

  it('rogue clients (no keys, a wrong server key, a keypair not of this run) that send forged results and garbage get nothing in; the run completes', async () => {
    const dir = scratchDir();
    const output = path.join(dir, 'out.jsonl');
    const run = startCli(['--script', fixture('echo.py'), '--inputs', itemsFile(dir, 300), '--output', output, '--gpus', 'cpu:2', '--batch-size', '4', '--opt', 'delay=0.02', '--listen', '127.0.0.1']);
    await waitFor(() => LISTENING.test(run.stderrSoFar()), 'the controller to listen');
    const endpoint = `tcp://127.0.0.1:${LISTENING.exec(run.stderrSoFar())?.[1]}`;
    const serverPublic = (await runningKeys(run)).server_public; // public: a rogue may know it
    const stranger = curveKeyPair();
    const rogues = [{}, { curveServerKey: stranger.publicKey, ...asClient(stranger) }, { curveServerKey: serverPublic, ...asClient(stranger) }];
    const forged = [
      encode({ v: PROTOCOL_VERSION, kind: 'results', device: 0, replica: 0, results: [{ batch: 0, outcomes: Array.from({ length: 4 }, () => ({ ok: true, result: 'forged', seconds: 0 })), busy: 0 }] }),
      encode({ v: PROTOCOL_VERSION, kind: 'replica_exit', device: 1, replica: 0, pid: 1, exitcode: -9, generation: 0, running: 0 }),
      Buffer.from('garbage \xff\xfe'),
    ];
    for (const options of rogues) {
      // Each also claims a replica's and a host's routing id, to be sent their work.
      for (const routingId of [taskRoute({ device: 0, replica: 0, generation: 0 }), hostRoute({ device: 1, incarnation: 0 }), undefined]) {
        const rogue = new Dealer({ linger: 0, ...options, ...(routingId ? { routingId, probeRouter: true } : {}) });
        const refused = (async () => {
          for await (const event of rogue.events) if (event.type.startsWith('handshake')) return event.type; // succeeded, or failed
          return 'closed';
        })();
        rogue.connect(endpoint);
        for (const message of forged) void rogue.send(message).catch(() => undefined);
        expect(await refused).toMatch(/^handshake:error/);
        rogue.close();
      }
    }
    expect(linesSoFar(output)).toBeLessThan(300); // they tried while the run was going
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = expectEachIdOnce(output, 300);
    expect(lines.every((line) => line.ok && (line.result as { echo: unknown }).echo !== undefined)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('forged');
    expect(result.stderr).not.toMatch(/ignored|malformed|killed|unfinished item/); // nothing of theirs reached the run
    await expectNoSurvivors(result.marker);
  });

  it('the controller SIGKILLed while its hosts cannot see its pid: each host hears the silence, stops its replicas and exits', async () => {
    const dir = scratchDir();
    itemsFile(dir, 200);
    const output = path.join(dir, 'out.jsonl');
    const log = path.join(dir, 'replicas.log');
    const hostsLog = path.join(dir, 'hosts.log');
    // item-100's batch stalls: the run is surely mid-way, both replicas at work, when it is killed.
    const run = startCli(
      ['--script', fixture('logged_echo.py'), '--inputs', path.join(dir, 'items.jsonl'), '--output', output, '--batch-size', '4', '--gpus', 'cpu:2', '--listen', '127.0.0.1', '--python', fixture('detached_python.py'), '--opt', `log=${log}`, '--opt', 'delay=0.01', '--opt', 'stall=item-100'],
      { env: { GPU_ORCHESTRATE_HEARTBEAT_TIMEOUT: '5', DETACHED_HOSTS_LOG: hostsLog } },
    );
    const ready = () => logLines(log).filter((line) => line.startsWith('ready ')).map((line) => Number(line.split(' ')[1]));
    await waitFor(() => ready().length === 2 && loggedIds(logLines(log), 'start').includes('item-100'), 'both replicas ready and item-100 started');
    const hosts = logLines(hostsLog).filter((line) => line.startsWith('started ')).map((line) => Number(line.split(' ')[1]));
    expect(hosts).toHaveLength(2);
    const replicas = ready();
    run.signalController('SIGKILL');
    await run.done;
    const exits = () => logLines(hostsLog).filter((line) => line.startsWith('exited '));
    await waitFor(() => exits().length === 2, 'both hosts to exit', 90_000);
    // Exit 69: stopped on the controller's silence (an orphaned host, the pid path, exits 1).
    expect(exits().map((line) => line.split(' ').slice(1).map(Number)).sort()).toEqual(hosts.map((pid) => [pid, 69]).sort());
    expect(readFileSync(`${hostsLog}.output`, 'utf8')).toMatch(/gpu-orchestrate host cpu:\d: heard nothing from the controller for \d+ s \(it was stopped or killed, or the network to it is down\); stopping its replicas and exiting/);
    await waitFor(() => replicas.every((pid) => !isAlive(pid)), 'the replicas to be gone', 10_000);
    await expectNoSurvivors(run.marker);
  });
});

function asClient(pair: { publicKey: string; secretKey: string }): { curvePublicKey: string; curveSecretKey: string } {
  return { curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey };
}

function isDone(run: StartedCli): boolean {
  return !isAlive(run.pid);
}
