/**
 * Sharded ensembles through the spawned CLI: `darboux run --shard i/n` over 4 shards, merged with
 * `darboux merge`, equals one unsharded run bit for bit (q, p, t, qs, ps), for random initial states (which
 * depend on (seed, member) only) and for states from files; a missing part and a tampered part exit 1 naming the
 * member range / the checksum; --shards N takes the shard from JOB_COMPLETION_INDEX (0-based) and
 * SLURM_ARRAY_TASK_ID (1-based).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpz, writeNpy } from '../../src/index.js';
import { memberSeed, shardPlan, shardRange } from '../../src/cli/shard.js';

const repo = process.cwd();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-shards-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function darboux(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const clean = { ...process.env };
    delete clean.JOB_COMPLETION_INDEX;
    delete clean.SLURM_ARRAY_TASK_ID;
    const child = spawn(process.execPath, [path.join(repo, 'bin', 'darboux.mjs'), ...args], { cwd: dir, env: { ...clean, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const bits = (a: ArrayLike<number>) => Array.from(new BigUint64Array(Float64Array.from(a).buffer), (b) => b.toString(16));
const arrays = (file: string) => readNpz(fs.readFileSync(path.join(dir, file)));

/** Asserts two .npz trajectories hold the same arrays, shapes and bits. */
function expectSameBits(a: string, b: string): void {
  const x = arrays(a), y = arrays(b);
  expect(Object.keys(x).sort()).toEqual(['energy', 'p', 'ps', 'q', 'qs', 't']);
  expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
  for (const name of Object.keys(x)) {
    expect(y[name]!.shape, name).toEqual(x[name]!.shape);
    expect(bits(y[name]!.data), name).toEqual(bits(x[name]!.data));
  }
}

// 11 members over 4 shards: ranges of 2 and 3, uneven on purpose.
const RANDOM = ['run', '--model', 'henon-heiles', '--steps', '60', '--batch', '11', '--init', 'random', '--radius', '0.2', '--seed', '5', '--save-every', '20', '--quiet'];

describe('member ranges and random streams', () => {
  it('shards cover 0..B-1 contiguously; member k draws from (seed, k) only', () => {
    const ranges = [1, 2, 3, 4].map((i) => shardRange(i, 4, 11));
    expect(ranges).toEqual([{ start: 0, end: 2 }, { start: 2, end: 5 }, { start: 5, end: 8 }, { start: 8, end: 11 }]);
    expect(shardPlan({ shards: '4' }, 11, { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 1, count: 4, start: 0, end: 2 });
    expect(shardPlan({ shards: '4' }, 11, { SLURM_ARRAY_TASK_ID: '4' })).toEqual({ index: 4, count: 4, start: 8, end: 11 });
    expect(() => shardPlan({ shard: '5/4' }, 11, {})).toThrow(/shard 5 of 4 does not exist/);
    expect(() => shardPlan({ shards: '4' }, 11, { SLURM_ARRAY_TASK_ID: '0' })).toThrow(/1-based/);
    expect(() => shardPlan({ shards: '4' }, 11, {})).toThrow(/neither is set/);
    const seeds = new Set(Array.from({ length: 1000 }, (_, k) => memberSeed(5, k)));
    expect(seeds.size).toBe(1000);
    expect(memberSeed(5, 3)).not.toBe(memberSeed(6, 3));
  });
});

describe.concurrent('darboux run --shard, darboux merge (spawned)', () => {
  it('4 random-state shards merged equal one unsharded run bit for bit; a missing part and a tampered part exit 1', async () => {
    const runs = await Promise.all([
      darboux([...RANDOM, '--out', 'full.npz']),
      ...[1, 2, 3, 4].map((i) => darboux([...RANDOM, '--shard', `${i}/4`, '--out', 'parts'])),
      // A 2-way split of the same ensemble: parts do not depend on N.
      ...[1, 2].map((i) => darboux([...RANDOM, '--shard', `${i}/2`, '--out', 'halves'])),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'parts', 'part-00002-of-00004.json'), 'utf8'));
    expect(manifest).toMatchObject({ shard: { index: 2, count: 4 }, members: { start: 2, end: 5, batch: 11 }, settings: { method: 'leapfrog', dt: 0.05, steps: 60, seed: 5, radius: 0.2, parameters: { lam: [1] } } });
    expect(manifest.part.sha256).toMatch(/^[0-9a-f]{64}$/);
    const merged = await Promise.all([darboux(['merge', 'parts', '-o', 'merged.npz', '--json']), darboux(['merge', 'halves', '-o', 'halves.npz'])]);
    for (const r of merged) expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(merged[0].stdout)).toMatchObject({ command: 'merge', parts: 4, batch: 11, dof: 2, frames: 4 });
    expectSameBits('full.npz', 'merged.npz');
    expectSameBits('full.npz', 'halves.npz');
    // Members really differ (the streams are not all the same).
    expect(new Set(bits(arrays('full.npz').q!.data)).size).toBe(22);

    fs.mkdirSync(path.join(dir, 'gap'));
    fs.mkdirSync(path.join(dir, 'tampered'));
    for (const i of [1, 2, 4]) {
      for (const ext of ['npz', 'json']) fs.copyFileSync(path.join(dir, 'parts', `part-0000${i}-of-00004.${ext}`), path.join(dir, 'gap', `part-0000${i}-of-00004.${ext}`));
    }
    for (const name of fs.readdirSync(path.join(dir, 'parts'))) fs.copyFileSync(path.join(dir, 'parts', name), path.join(dir, 'tampered', name));
    const bytes = fs.readFileSync(path.join(dir, 'tampered', 'part-00003-of-00004.npz'));
    bytes[bytes.length - 30] ^= 1;
    fs.writeFileSync(path.join(dir, 'tampered', 'part-00003-of-00004.npz'), bytes);
    const [gap, tampered, overlap] = await Promise.all([
      darboux(['merge', 'gap', '-o', 'gap.npz']),
      darboux(['merge', 'tampered', '-o', 'tampered.npz', '--json']),
      darboux(['merge', 'parts', 'halves/part-00001-of-00002.npz', '-o', 'overlap.npz']),
    ]);
    expect(gap.code).toBe(1);
    expect(gap.stderr).toContain('members [5, 8) are in no part: missing shard 3/4 (part-00003-of-00004.npz)');
    expect(fs.existsSync(path.join(dir, 'gap.npz'))).toBe(false);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stderr).error).toMatchObject({ code: 'INPUT', message: expect.stringMatching(/part-00003-of-00004\.npz: checksum mismatch/), details: { kind: 'checksum' } });
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/members \[0, 2\) are in both .*part-00001-of-00004\.npz and .*part-00001-of-00002\.npz|members \[0, 2\) are in both .*part-00001-of-00002\.npz and .*part-00001-of-00004\.npz/);
  }, 120_000); // spawns several CLI processes: slow on a loaded 2-core machine

  it('--shards N from JOB_COMPLETION_INDEX (0-based) and SLURM_ARRAY_TASK_ID (1-based); states from files; mixed runs refused', async () => {
    const batch = 6, dof = 2;
    const q0 = Float64Array.from({ length: batch * dof }, (_, i) => 0.05 * Math.sin(i + 1)), p0 = Float64Array.from({ length: batch * dof }, (_, i) => 0.05 * Math.cos(i));
    fs.writeFileSync(path.join(dir, 'q0.npy'), writeNpy({ shape: [batch, dof], data: q0 }));
    fs.writeFileSync(path.join(dir, 'p0.npy'), writeNpy({ shape: [batch, dof], data: p0 }));
    const FILES = ['run', '--model', 'henon-heiles', '--steps', '40', '--batch', String(batch), '--q0', 'q0.npy', '--p0', 'p0.npy', '--save-every', '10', '--quiet'];
    const runs = await Promise.all([
      darboux([...FILES, '--out', 'files-full.npz']),
      darboux([...FILES, '--shards', '3', '--out', 'env'], { JOB_COMPLETION_INDEX: '0' }),
      darboux([...FILES, '--shards', '3', '--out', 'env'], { JOB_COMPLETION_INDEX: '1' }),
      darboux([...FILES, '--shards', '3', '--out', 'env', '--json'], { SLURM_ARRAY_TASK_ID: '3' }),
      darboux([...FILES, '--steps', '41', '--shard', '3/3', '--out', 'other']),
      darboux([...FILES, '--shards', '3', '--out', 'nowhere']),
    ]);
    for (const r of runs.slice(0, 5)) expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(runs[3].stdout)).toMatchObject({ shard: { index: 3, count: 3 }, members: { start: 4, end: 6 }, batch: 2 });
    expect(fs.readdirSync(path.join(dir, 'env')).sort()).toEqual(['part-00001-of-00003.json', 'part-00001-of-00003.npz', 'part-00002-of-00003.json', 'part-00002-of-00003.npz', 'part-00003-of-00003.json', 'part-00003-of-00003.npz']);
    expect(runs[5].code).toBe(2);
    expect(runs[5].stderr).toContain('neither is set');
    const [merged, mixed] = await Promise.all([
      darboux(['merge', 'env', '-o', 'files-merged.npz']),
      darboux(['merge', 'env/part-00001-of-00003.npz', 'env/part-00002-of-00003.json', 'other/part-00003-of-00003.npz', '-o', 'mixed.npz']),
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expectSameBits('files-full.npz', 'files-merged.npz');
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toMatch(/are parts of different runs: steps 40 vs 41/);
  }, 120_000); // spawns several CLI processes: slow on a loaded 2-core machine
});
