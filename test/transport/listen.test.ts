/** --listen and --advertise: what is bound, what device hosts are told, and what is refused. */
import { hostname } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRunConfig } from '../../src/options/config.js';
import { advertisedEndpoint, bindEndpoint, listeningOn, parseListen } from '../../src/transport/listen.js';

describe('--listen HOST[:PORT] and --advertise HOST', () => {
  it.each([
    ['10.0.0.5', undefined, 'tcp://10.0.0.5:*', 'tcp://10.0.0.5:4000', 'tcp://10.0.0.5:4000'],
    ['10.0.0.5:5555', undefined, 'tcp://10.0.0.5:5555', 'tcp://10.0.0.5:4000', 'tcp://10.0.0.5:4000'],
    ['node7:0', undefined, 'tcp://node7:*', 'tcp://node7:4000', 'tcp://node7:4000'],
    ['0.0.0.0:5555', 'ib0-node7', 'tcp://*:5555', 'tcp://ib0-node7:4000', 'port 4000 of every interface'],
    ['0.0.0.0', undefined, 'tcp://*:*', `tcp://${hostname()}:4000`, 'port 4000 of every interface'],
    ['[fe80::1]:5555', undefined, 'tcp://[fe80::1]:5555', 'tcp://[fe80::1]:4000', 'tcp://[fe80::1]:4000'],
  ])('%s (advertised %s): binds %s, hosts connect to %s', (listen, advertise, bind, connect, words) => {
    const address = parseListen(listen, advertise);
    expect(bindEndpoint(address)).toBe(bind);
    expect(advertisedEndpoint(address, 4000)).toBe(connect);
    expect(listeningOn(address, 4000)).toBe(words);
  });

  it.each([['10.0.0.5:99999'], ['10.0.0.5:port'], [''], ['tcp://10.0.0.5:5555'], ['a:b:c']])('refuses %j, saying what it takes', (text) => {
    expect(() => parseListen(text)).toThrow(/--listen .*: expected HOST or HOST:PORT, such as 10\.0\.0\.5, 10\.0\.0\.5:5555/);
  });

  it('refuses an advertised address with a port', () => {
    expect(() => parseListen('0.0.0.0', 'node7:5555')).toThrow(/--advertise "node7:5555": expected a host name or an address, without a port/);
  });

  it('is off by default; --advertise needs --listen', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'go-listen-'));
    writeFileSync(path.join(dir, 'detect.py'), 'def setup(ctx): pass\ndef infer(m, b): return b\n');
    const base = { script: 'detect.py', inputs: 'images/', output: 'out.jsonl' };
    expect(buildRunConfig(base, {}, dir).listen).toBeUndefined();
    expect(buildRunConfig({ ...base, listen: '127.0.0.1' }, {}, dir).listen).toEqual({ host: '127.0.0.1', port: 0, advertise: '127.0.0.1' });
    expect(() => buildRunConfig({ ...base, advertise: 'node7' }, {}, dir)).toThrow(/--advertise names the address device hosts connect to over TCP; it needs --listen/);
  });
});
