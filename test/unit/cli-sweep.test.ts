/**
 * `darboux run --sweep grid.json`, in-process: the grid's Cartesian product in C order (first name slowest) as
 * one ensemble of points × replicas with per-trajectory parameters, equal bit for bit to the library's st.run
 * with the same parameter arrays; shards of a sweep join to the unsharded run; bad grids refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, loadArrays, parse } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { sweepGrid, sweepParams } from '../../src/cli/sweep.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-sweep-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture(): { io: CliStreams; out: () => string; err: () => string } {
  let out = '', err = '';
  return { io: { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} }, out: () => out, err: () => err };
}

const H = '(px^2 + py^2)/2 + k*(x^2 + y^2)/2 + eps*x^2*y';
const system = ['--H', H, '--q', 'x,y', '--p', 'px,py', '--params', 'k=1,eps=0.1'];

describe('darboux run --sweep', () => {
  it('expands the grid in C order (first name slowest), replicas innermost', () => {
    const grid = sweepGrid({ k: [1, 2], eps: [10, 20, 30] });
    expect(grid.points).toBe(6);
    const all = sweepParams(grid, 2, 0, 12);
    expect(Array.from(all.k!)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(Array.from(all.eps!)).toEqual([10, 10, 20, 20, 30, 30, 10, 10, 20, 20, 30, 30]);
    const part = sweepParams(grid, 2, 5, 8);
    expect(Array.from(part.k!)).toEqual([1, 2, 2]);
    expect(Array.from(part.eps!)).toEqual([30, 10, 10]);
  });

  it('one run over the grid equals st.run with the same per-trajectory parameters, bit for bit; shards join to it', async () => {
    const gridFile = path.join(dir, 'grid.json');
    fs.writeFileSync(gridFile, JSON.stringify({ k: [0.5, 1, 2], eps: [0, 0.1] }));
    const args = ['run', ...system, '--method', 'yoshida4', '--dt', '0.05', '--steps', '200', '--sweep', gridFile, '--batch', '2', '--init', 'random', '--radius', '0.2', '--seed', '7', '--quiet'];
    const whole = capture();
    expect(await main([...args, '--out', path.join(dir, 'whole.npz'), '--json'], whole.io)).toBe(0);
    expect(JSON.parse(whole.out()).sweep).toMatchObject({ names: ['k', 'eps'], points: 6, replicas: 2, members: 12 });
    const saved = loadArrays(path.join(dir, 'whole.npz'));
    const params = loadArrays(path.join(dir, 'whole-params.npz'));
    expect(Array.from(params.k!.data)).toEqual([0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(Array.from(params.eps!.data)).toEqual([0, 0, 0.1, 0.1, 0, 0, 0.1, 0.1, 0, 0, 0.1, 0.1]);
    // Replica r starts from the same state at every grid point: the two random states of --batch 2, repeated.
    const states = capture();
    expect(await main(['run', ...system, '--dt', '0.05', '--steps', '0', '--batch', '2', '--init', 'random', '--radius', '0.2', '--seed', '7', '--quiet', '--out', path.join(dir, 'start.npz')], states.io)).toBe(0);
    const start = loadArrays(path.join(dir, 'start.npz'));
    const q0 = new Float64Array(24), p0 = new Float64Array(24);
    for (let m = 0; m < 12; m++) {
      q0.set(start.q!.data.subarray((m % 2) * 2, (m % 2) * 2 + 2), m * 2);
      p0.set(start.p!.data.subarray((m % 2) * 2, (m % 2) * 2 + 2), m * 2);
    }
    const st = await compile(parse({ H, q: ['x', 'y'], p: ['px', 'py'], params: { k: 1, eps: 0.1 } }), { method: 'yoshida4', dt: 0.05, backend: 'cpu' });
    const lib = await st.run({ q0, p0, steps: 200, batch: 12, params: { k: params.k!.data, eps: params.eps!.data } });
    expect(Array.from(saved.q!.data)).toEqual(Array.from(lib.q));
    expect(Array.from(saved.p!.data)).toEqual(Array.from(lib.p));
    // Different parameters, different end states (the sweep is not one value repeated).
    expect(saved.q!.data[0]).not.toBe(saved.q!.data[8]);
    st.dispose();
    // Three shards of the same sweep, merged: the unsharded run bit for bit.
    const parts = path.join(dir, 'parts');
    for (const i of [1, 2, 3]) expect(await main([...args, '--shard', `${i}/3`, '--out', parts], capture().io)).toBe(0);
    expect(await main(['merge', parts, '--out', path.join(dir, 'merged.npz'), '--quiet'], capture().io)).toBe(0);
    const merged = loadArrays(path.join(dir, 'merged.npz'));
    expect(Array.from(merged.q!.data)).toEqual(Array.from(saved.q!.data));
    expect(Array.from(merged.p!.data)).toEqual(Array.from(saved.p!.data));
  });

  it('refuses bad grids with INPUT naming the entry, and unknown parameter names with OPTION', async () => {
    expect(() => sweepGrid([1, 2])).toThrow(expect.objectContaining({ code: 'INPUT' }));
    expect(() => sweepGrid({})).toThrow(expect.objectContaining({ code: 'INPUT' }));
    expect(() => sweepGrid({ k: [] })).toThrow(expect.objectContaining({ code: 'INPUT', details: expect.objectContaining({ name: 'k' }) }));
    expect(() => sweepGrid({ k: [1, 'x'] })).toThrow(expect.objectContaining({ code: 'INPUT', details: expect.objectContaining({ name: 'k', index: 1 }) }));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ kk: [1, 2] }));
    const c = capture();
    expect(await main(['run', ...system, '--dt', '0.05', '--steps', '10', '--sweep', bad, '--init', 'random', '--quiet', '--json'], c.io)).toBe(1);
    expect(c.out() + c.err()).toMatch(/OPTION[\s\S]*'k'/);
  });
});
