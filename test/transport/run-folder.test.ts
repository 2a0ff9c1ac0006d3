/** Run folders of killed runs are removed by the next run; a live run's never (src/transport/run-folder.ts). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { currentOwner, makeRunFolder, removeStaleRunFolders, type RunFolderOwner } from '../../src/transport/run-folder.js';

const parents: string[] = [];
afterEach(() => {
  for (const dir of parents.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function parent(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'go-run-folders-'));
  parents.push(dir);
  return dir;
}

function folderOf(dir: string, name: string, owner: Partial<RunFolderOwner> | undefined): string {
  const folder = path.join(dir, name);
  mkdirSync(folder);
  writeFileSync(path.join(folder, 'events'), ''); // as a socket file would be
  if (owner) writeFileSync(path.join(folder, 'owner.json'), JSON.stringify({ ...currentOwner(), ...owner }));
  return folder;
}

/** The pid of a process that has exited (and been waited for). */
function deadPid(): number {
  return spawnSync('true').pid as number;
}

describe('run folders', () => {
  it('a new run folder records its owner: this process', () => {
    const folder = makeRunFolder(parent());
    expect(path.basename(folder)).toMatch(/^gpu-orchestrate-[A-Za-z0-9]{6}$/);
    const owner = JSON.parse(readFileSync(path.join(folder, 'owner.json'), 'utf8')) as RunFolderOwner;
    expect(owner).toEqual(currentOwner());
    expect(owner.pid).toBe(process.pid);
  });

  it('removes a folder whose owner has exited, and one whose pid now names a later process; keeps a live owner\'s', () => {
    const dir = parent();
    const dead = folderOf(dir, 'gpu-orchestrate-aaaaaa', { pid: deadPid() });
    const reused = folderOf(dir, 'gpu-orchestrate-bbbbbb', { pid: process.pid, start: '1' });
    const live = folderOf(dir, 'gpu-orchestrate-cccccc', {});
    expect(removeStaleRunFolders(dir).sort()).toEqual([dead, reused]);
    expect(existsSync(live)).toBe(true);
  });

  it('keeps what it cannot prove stale: no owner recorded yet, another pid namespace, names that are not run folders', () => {
    const dir = parent();
    const kept = [
      folderOf(dir, 'gpu-orchestrate-dddddd', undefined),
      folderOf(dir, 'gpu-orchestrate-eeeeee', { pid: deadPid(), pidNamespace: 'pid:[1]' }),
      folderOf(dir, 'gpu-orchestrate-bench-ffffff', { pid: deadPid() }),
      folderOf(dir, 'gpu-orchestrate-demo-images-root', { pid: deadPid() }),
    ];
    expect(removeStaleRunFolders(dir)).toEqual([]);
    for (const folder of kept) expect(existsSync(folder)).toBe(true);
  });

  it('a new run removes the stale folders before making its own', () => {
    const dir = parent();
    const dead = folderOf(dir, 'gpu-orchestrate-gggggg', { pid: deadPid() });
    const mine = makeRunFolder(dir);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(mine)).toBe(true);
  });
});
