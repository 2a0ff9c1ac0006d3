/** Input files for the benchmarks, written once into the benchmark's scratch folder. */
import { writeFileSync } from 'node:fs';

export function writeJsonl(file: string, values: unknown[]): string {
  writeFileSync(file, values.map((value) => JSON.stringify(value)).join('\n') + '\n');
  return file;
}

/** A seeded generator (mulberry32): the same seed gives the same item costs on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal draws: exp(mu + sigma * z), z standard normal (Box-Muller). */
export function logNormal(random: () => number, count: number, median: number, sigma: number): number[] {
  return Array.from({ length: count }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return median * Math.exp(sigma * z);
  });
}
