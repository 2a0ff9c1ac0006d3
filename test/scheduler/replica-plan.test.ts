/** How many replicas each device starts with, and may grow to (its slots). */
import { describe, expect, it } from 'vitest';
import type { Device } from '../../src/devices/devices.js';
import { AUTO_MAX_REPLICAS, planReplicas } from '../../src/scheduler/replica-plan.js';

const gpu = (index: number): Device => ({ index, label: `cuda:${index}`, kind: 'cuda', visibleDevices: String(index) });
const cpu = (index: number): Device => ({ index, label: `cpu:${index}`, kind: 'cpu', visibleDevices: '' });

describe('planReplicas', () => {
  it('a fixed count starts every replica, decided from the start', () => {
    expect(planReplicas(3, [gpu(0), gpu(1)], 16)).toEqual({ slotsPerDevice: 3, initial: [3, 3], measured: [false, false], maxReplicas: 3, notes: [undefined, undefined] });
  });

  it('auto on GPUs starts one each, with slots up to cores / devices', () => {
    expect(planReplicas('auto', [gpu(0), gpu(1)], 16)).toEqual({ slotsPerDevice: 8, initial: [1, 1], measured: [true, true], maxReplicas: 8, notes: [undefined, undefined] });
    expect(planReplicas('auto', [gpu(0), gpu(1)], 3).maxReplicas).toBe(1);
    expect(planReplicas('auto', [gpu(0), gpu(1)], 1).maxReplicas).toBe(1);
    expect(planReplicas('auto', [gpu(0), gpu(1)], 512).maxReplicas).toBe(AUTO_MAX_REPLICAS);
  });

  it('auto on CPU devices: the fixed rule, one replica each, said in a note', () => {
    const plan = planReplicas('auto', [cpu(0), cpu(1)], 16);
    expect(plan).toMatchObject({ slotsPerDevice: 1, initial: [1, 1], measured: [false, false] });
    expect(plan.notes).toEqual(Array(2).fill('auto 1 replica: CPU device (fixed rule: its replicas would share the same cores)'));
    expect(planReplicas('auto', [cpu(0), cpu(1)], 16, true)).toMatchObject({ slotsPerDevice: 8, measured: [true, true], notes: [undefined, undefined] });
  });

  it('auto with GPUs and a CPU device: slots for the GPUs to grow into, the CPU device fixed at one', () => {
    const plan = planReplicas('auto', [gpu(0), cpu(1)], 16);
    expect(plan).toMatchObject({ slotsPerDevice: 8, initial: [1, 1], measured: [true, false] });
    expect(plan.notes[1]).toMatch(/^auto 1 replica: CPU device/);
  });
});
