/**
 * Nodes (issue 13): what a second node adds. The simulated-GPU fixture under salloc with
 * --launcher slurm --gpus cpu:2 on the test cluster (test/cluster/): 1 node x 2 devices, then
 * 2 nodes x 2, the same work per device. The controller runs in this machine's namespace, the
 * device hosts on the nodes connect to it over TCP with CURVE (the slurm launcher's default:
 * this machine's address on the bridge). Efficiency = 2-node items/s over twice the 1-node
 * items/s, each measured as the scaling table does (first result on disk to the last; the
 * replicas start work together after a barrier in setup).
 *
 *   sudo npm run bench -- nodes                  # sets the cluster up and down unless it is up
 *   BENCH_ROUNDS=3 npm run bench -- nodes        # rounds of 1 node then 2 nodes
 */
import path from 'node:path';
import { clusterEnv } from '../test/cluster/cluster.js';
import { allocatedRun } from './lib/allocated-run.js';
import { writeJsonl } from './lib/inputs.js';
import { fixed, thousands, type Table } from './lib/table.js';
import { ClusterUnavailable, whyNoCluster, withTestCluster } from './lib/test-cluster.js';
import { BENCH_FIXTURES, steadyRate, type WatchedRun } from './lib/watched-run.js';

const PER_ITEM_S = 0.005;
const BATCH = 8;
/** Seconds of work per device, as in the scaling table: one batch (40 ms) at the end is under 1%. */
const WORK_PER_DEVICE_S = 6;
const DEVICES_PER_NODE = 2;
const TARGET = 0.95;
/** A run takes 10 to 30 s here; one that takes this long is stuck. */
const RUN_TIMEOUT_MS = 300_000;

const TITLE = `Nodes: simulated GPUs (${PER_ITEM_S * 1000} ms per item, batch ${BATCH}), --launcher slurm --gpus cpu:${DEVICES_PER_NODE} under salloc, 1 node against 2 (test cluster)`;
const COLUMNS = ['round', `1 node x ${DEVICES_PER_NODE}: items/s (of ideal)`, `2 nodes x ${DEVICES_PER_NODE}: items/s (of ideal)`, 'efficiency: 2 nodes / (2 x 1 node)', `target ≥ ${TARGET * 100}%`, 'items per node (2 nodes)', 'command → first result (s), 1 / 2 nodes'];

interface NodesRun {
  run: WatchedRun;
  rate: number;
  ideal: number;
  itemsByNode: Map<string, number>;
}

/** One run on `nodes` nodes; checks that every device took part, on as many nodes as asked. */
async function onNodes(scratch: string, nodes: number, signal: AbortSignal): Promise<NodesRun> {
  const devices = nodes * DEVICES_PER_NODE;
  const items = Math.round((devices * WORK_PER_DEVICE_S) / PER_ITEM_S);
  const inputs = writeJsonl(path.join(scratch, `nodes-${nodes}.jsonl`), Array.from({ length: items }, (_, index) => ({ id: String(index) })));
  const run = await allocatedRun({ nodes, tasksPerNode: DEVICES_PER_NODE, env: clusterEnv(), timeoutMs: RUN_TIMEOUT_MS, signal }, {
    script: path.join(BENCH_FIXTURES, 'simulated_gpu.py'), inputs, output: path.join(scratch, 'nodes-out.jsonl'), gpus: `cpu:${DEVICES_PER_NODE}`, batchSize: BATCH,
    extra: ['--launcher', 'slurm'], opts: { per_item: String(PER_ITEM_S), barrier: String(devices) }, trace: path.join(scratch, 'nodes-trace.jsonl'),
  });
  const itemsByNode = new Map<string, number>();
  for (const trace of run.traces) {
    const node = trace.device.split(':')[0] as string; // "gpo-n2:cpu:1"
    itemsByNode.set(node, (itemsByNode.get(node) ?? 0) + trace.items);
  }
  if (run.traces.length !== devices || itemsByNode.size !== nodes || run.lines !== items) {
    throw new Error(`the run on ${nodes} node(s) was not ${devices} devices on ${nodes} node(s): ${run.traces.length} replica trace(s) from ${[...itemsByNode.keys()].join(', ') || 'no node'}, ${run.lines} of ${items} lines`);
  }
  return { run, rate: steadyRate(run), ideal: devices / PER_ITEM_S, itemsByNode };
}

const ofIdeal = (measured: NodesRun): string => `${fixed(measured.rate, 1)} (${fixed((measured.rate / measured.ideal) * 100, 1)}%)`;
const firstResult = (measured: NodesRun): string => fixed(((measured.run.firstLineAt ?? NaN) - measured.run.startedAt) / 1000, 1);

export async function nodes(scratch: string, rounds = 1): Promise<Table> {
  const notes = [
    `Each run: ${WORK_PER_DEVICE_S} s of work per device (${thousands(DEVICES_PER_NODE * WORK_PER_DEVICE_S / PER_ITEM_S)} items on 1 node, ${thousands(2 * DEVICES_PER_NODE * WORK_PER_DEVICE_S / PER_ITEM_S)} on 2); ideal = devices / ${PER_ITEM_S * 1000} ms. items/s: lines written between the first result on disk and the last, over that time (start-up excluded), as in the scaling table.`,
    'The controller runs under salloc in this machine\'s namespace; each device host is an srun step on its node (a network namespace) and connects over TCP with CURVE to the bridge address. The nodes share this machine\'s cores: the fixture sleeps, so 4 devices fit on 2 cores, but the runs measure the launcher and the transport, not a second machine\'s compute.',
  ];
  const why = whyNoCluster();
  if (why) return { title: TITLE, columns: COLUMNS, rows: [[`skipped: ${why}`, '', '', '', '', '', '']], notes };
  try {
    return await withTestCluster(async (_cluster, signal) => {
      const rows: string[][] = [];
      for (let round = 1; round <= rounds; round += 1) {
        const one = await onNodes(scratch, 1, signal);
        const two = await onNodes(scratch, 2, signal);
        const efficiency = two.rate / (2 * one.rate);
        rows.push([
          String(round), ofIdeal(one), ofIdeal(two), `${fixed(efficiency * 100, 1)}%`, efficiency >= TARGET ? 'met' : 'NOT met',
          [...two.itemsByNode].sort().map(([node, items]) => `${node} ${thousands(items)}`).join(', '), `${firstResult(one)} / ${firstResult(two)}`,
        ]);
      }
      return { title: TITLE, columns: COLUMNS, rows, notes };
    });
  } catch (error) {
    if (!(error instanceof ClusterUnavailable)) throw error;
    return { title: TITLE, columns: COLUMNS, rows: [[`skipped: ${error.message}`, '', '', '', '', '', '']], notes };
  }
}
