/**
 * Folders and globs walked lazily give what tinyglobby's sorted list gave (gpu-orchestrate
 * listed them with it before), so ordering, matching and naming are unchanged and an output
 * written before resumes with the same ids.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { afterAll, describe, expect, it } from 'vitest';
import { globWalk } from '../../src/inputs/glob.js';
import { openInputs } from '../../src/inputs/read-inputs.js';
import { walk } from '../../src/inputs/walk.js';

const base = mkdtempSync(path.join(tmpdir(), 'go-walk-'));
const tree = path.join(base, 'tree');
afterAll(() => rmSync(base, { recursive: true, force: true }));

const files = [
  'a.png', 'a-b.png', 'a/x.png', 'a/b/y.png', 'a.b/z.png', 'B.png', 'b/Q.PNG', 'é.png', 'z/zz/zzz/deep.png',
  '.hidden.png', '.cache/c.png', 'v/.dot/e.png', 'v/w.txt', 'v/[1].png', 'many/0.png', 'many/10.png', 'many/9.png',
];
for (const name of files) {
  mkdirSync(path.dirname(path.join(tree, name)), { recursive: true });
  writeFileSync(path.join(tree, name), '');
}
mkdirSync(path.join(tree, 'empty'));
symlinkSync('../a', path.join(tree, 'v/to-a')); // a link to a folder is walked
symlinkSync('../a.png', path.join(tree, 'v/to-a.png')); // a link to a file is a file
symlinkSync('nowhere', path.join(tree, 'v/broken.png')); // a broken link is skipped

async function walked(spec: string, cwd: string): Promise<string[]> {
  const plan = globWalk(spec, cwd);
  const found: string[] = [];
  for await (const chunk of walk(plan.root, plan.rule)) found.push(...chunk.map(plan.name));
  return found;
}

async function listed(spec: string, cwd: string): Promise<string[]> {
  return (await glob(spec, { cwd, onlyFiles: true, dot: false, expandDirectories: false })).sort();
}

describe('globs, walked lazily', () => {
  const patterns = [
    'tree/**/*.png', 'tree/**/*', 'tree/*', 'tree/*/*.png', 'tree/{a,v}/*', 'tree/**/*.{png,PNG}', 'tree/v/\\[1\\].png',
    'tree/a.png', './tree/a/../v/*', 'tree/.cache/*', 'tree/a/**', 'tree/many/?.png', 'tree/**/b/*',
  ];
  for (const pattern of patterns) {
    it(`${pattern} matches and orders as tinyglobby's sorted list`, async () => {
      expect(await walked(pattern, base)).toEqual(await listed(pattern, base));
    });
  }

  it('names paths as before: relative to the working directory, also for an absolute pattern or one outside it', async () => {
    const elsewhere = path.join(base, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    for (const [pattern, cwd] of [[`${tree}/**/*.png`, base], [`${tree}/*/*.png`, elsewhere], ['../tree/**', elsewhere], ['../elsewhere/../tree/*', elsewhere]] as const) {
      const found = await walked(pattern, cwd);
      expect(found.length).toBeGreaterThan(0);
      expect(found).toEqual(await listed(pattern, cwd));
    }
  });
});

describe('folders, walked lazily', () => {
  it('every file under the folder, hidden ones skipped, links followed, sorted as the whole list of paths would be', async () => {
    const source = await openInputs(tree);
    const ids: string[] = [];
    for await (const chunk of source.chunks()) ids.push(...chunk.map((item) => item.id));
    const before = (await glob('**/*', { cwd: tree, onlyFiles: true, dot: false, absolute: false })).sort().map((file) => `${tree}/${file}`);
    expect(ids).toEqual(before);
    expect(ids).toContain(`${tree}/v/to-a/b/y.png`);
    expect(ids.some((id) => id.includes('/.'))).toBe(false);
  });

  it('does not walk a link that leads back into a folder the walk is inside (tinyglobby walked such a loop once more)', async () => {
    const loops = path.join(base, 'loops');
    mkdirSync(path.join(loops, 'a'), { recursive: true });
    mkdirSync(path.join(loops, 'b'), { recursive: true });
    writeFileSync(path.join(loops, 'a/1.png'), '');
    writeFileSync(path.join(loops, 'b/2.png'), '');
    symlinkSync('..', path.join(loops, 'a/up'));
    symlinkSync('../a', path.join(loops, 'b/to-a')); // a/up leads back from b/to-a too
    const found: string[] = [];
    for await (const chunk of walk(loops, { descend: () => true, accept: () => true })) found.push(...chunk);
    expect(found).toEqual(['a/1.png', 'b/2.png', 'b/to-a/1.png']);
  });

  it('hands out what it found a chunk at a time, not once the whole tree is walked', async () => {
    const wide = path.join(base, 'wide');
    for (let d = 0; d < 3; d += 1) {
      mkdirSync(path.join(wide, `d${d}`), { recursive: true });
      for (let f = 0; f < 1500; f += 1) writeFileSync(path.join(wide, `d${d}`, `${String(f).padStart(4, '0')}.png`), '');
    }
    const chunks: number[] = [];
    for await (const chunk of walk(wide, { descend: () => true, accept: () => true })) chunks.push(chunk.length);
    expect(chunks.reduce((sum, size) => sum + size, 0)).toBe(4500);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(1024);
  });
});
