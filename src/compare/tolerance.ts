/**
 * Numbers within tolerances, as numpy.allclose: |got - expected| <= atol + rtol * |expected|
 * (the reference is `expected`, so the test is not symmetric, as numpy's is not). Two NaNs at the
 * same place agree (numpy's equal_nan=True): a model that gives NaN gives it again; infinities
 * agree only with the same infinity.
 */
import type { ArrayValues } from './arrays.js';

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** How far `got` is from `expected`. rel is abs / |expected| (Infinity when expected is 0 and they differ). */
export interface Gap {
  within: boolean;
  abs: number;
  rel: number;
}

const SAME: Gap = { within: true, abs: 0, rel: 0 };

/** `magnitude`: |expected|; `distance`: |got - expected|; for complex numbers these are moduli. */
function gap(distance: number, magnitude: number, tolerance: Tolerance): Gap {
  const rel = magnitude === 0 ? (distance === 0 ? 0 : Infinity) : distance / magnitude;
  return { within: distance <= tolerance.atol + tolerance.rtol * magnitude, abs: distance, rel };
}

export function realGap(got: number, expected: number, tolerance: Tolerance): Gap {
  if (Object.is(got, expected) || got === expected || (Number.isNaN(got) && Number.isNaN(expected))) return SAME;
  if (!Number.isFinite(got) || !Number.isFinite(expected)) return { within: false, abs: Infinity, rel: Infinity };
  return gap(Math.abs(got - expected), Math.abs(expected), tolerance);
}

function complexGap(got: [number, number], expected: [number, number], tolerance: Tolerance): Gap {
  const nan = (z: [number, number]) => Number.isNaN(z[0]) || Number.isNaN(z[1]);
  if (got[0] === expected[0] && got[1] === expected[1]) return SAME;
  if (nan(got) && nan(expected)) return SAME;
  if (![...got, ...expected].every(Number.isFinite)) return { within: false, abs: Infinity, rel: Infinity };
  return gap(Math.hypot(got[0] - expected[0], got[1] - expected[1]), Math.hypot(expected[0], expected[1]), tolerance);
}

/** 64-bit integers: the distance taken exactly, so 2^60 and 2^60 + 1 are 1 apart, not 0 as doubles would say. */
function bigintGap(got: bigint, expected: bigint, tolerance: Tolerance): Gap {
  if (got === expected) return SAME;
  const distance = got > expected ? got - expected : expected - got;
  return gap(Number(distance), Math.abs(Number(expected)), tolerance);
}

/** Two arrays of the same dtype and shape: the largest gaps, and the element that is furthest out. */
export interface ArrayGap {
  within: boolean;
  maxAbs: number;
  maxRel: number;
  /** The element out of tolerance by the most (its flat index), when one is. */
  worst: { index: number; got: string; expected: string } | undefined;
}

function element(values: ArrayValues, index: number): { real: number; text: string; pair: [number, number] } {
  if (values.kind === 'complex') {
    const pair: [number, number] = [values.values[index * 2] as number, values.values[index * 2 + 1] as number];
    return { real: pair[0], pair, text: `${formatNumber(pair[0])}${pair[1] < 0 ? '-' : '+'}${formatNumber(Math.abs(pair[1]))}j` };
  }
  const value = values.values[index] as number | bigint;
  return { real: Number(value), pair: [Number(value), 0], text: typeof value === 'bigint' ? value.toString() : formatNumber(value) };
}

export function arrayGap(got: ArrayValues, expected: ArrayValues, count: number, tolerance: Tolerance): ArrayGap {
  let maxAbs = 0;
  let maxRel = 0;
  let worst: ArrayGap['worst'];
  let worstExcess = -Infinity;
  for (let index = 0; index < count; index += 1) {
    const a = element(got, index);
    const b = element(expected, index);
    const g = got.kind === 'bigint' ? bigintGap(got.values[index] as bigint, expected.values[index] as bigint, tolerance) : got.kind === 'complex' ? complexGap(a.pair, b.pair, tolerance) : realGap(a.real, b.real, tolerance);
    maxAbs = Math.max(maxAbs, g.abs);
    maxRel = Math.max(maxRel, g.rel);
    const excess = g.abs - (tolerance.atol + tolerance.rtol * Math.abs(b.real));
    if (!g.within && (worst === undefined || excess > worstExcess || Number.isNaN(excess))) {
      worst = { index, got: a.text, expected: b.text };
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  return { within: worst === undefined, maxAbs, maxRel, worst };
}

/** Enough digits to see a difference in the 7th significant place, no more. */
export function formatNumber(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(8)));
}
