/** A seeded PRNG (mulberry32, the benchmarks' one): a test that picks at random can be replayed from its seed. */
import { randomInt } from 'node:crypto';

export { seededRandom } from '../../bench/lib/inputs.js';

/** The seed to use: the variable `name` when set (to replay a failure), else a fresh one. */
export function seedFrom(name: string): number {
  const given = process.env[name];
  if (given === undefined || given === '') return randomInt(2 ** 31);
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new Error(`${name}=${given} is not an integer seed; unset it for a fresh one`);
  return seed;
}
