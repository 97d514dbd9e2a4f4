/**
 * `darboux run --init energy --energy E --section NAME`: every member starts on H = E (to 1e-12) and on NAME = 0
 * with NAME's momentum of the section direction's sign, for a model, a formula with a non-quadratic kinetic
 * energy and a spec file; the run's crossings lie on the level; shards equal the unsharded run bit for bit; bad
 * values are refused (exit 2 for usage, exit 1 with a DarbouxError naming E for an unreachable level).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DarbouxError, henonHeiles, parse, readNpz } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { chooseStates, chooseSystem } from '../../src/cli/system.js';
import { energyLevelSpec, energyLevelStates } from '../../src/cli/energy-init.js';
import type { CliStreams } from '../../src/cli/terminal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darboux-energy-init-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capture(): { io: CliStreams; out: () => string; err: () => string } {
  let out = '', err = '';
  return { io: { stdout: { write: (s: string) => { out += s; } }, stderr: { write: (s: string) => { err += s; } }, env: {} }, out: () => out, err: () => err };
}

const bits = (a: ArrayLike<number>) => Array.from(new BigUint64Array(Float64Array.from(a).buffer), (b) => b.toString(16));

/** Asserts every member of (q0, p0) has H = E to 1e-12, q_k = 0 and sign(p_k) = sign. */
function expectOnLevel(h: { dof: number; energy: (q: ArrayLike<number>, p: ArrayLike<number>) => number }, q0: Float64Array, p0: Float64Array, E: number, k: number, sign: number): void {
  const n = h.dof, batch = q0.length / n;
  for (let b = 0; b < batch; b++) {
    const q = q0.subarray(b * n, (b + 1) * n), p = p0.subarray(b * n, (b + 1) * n);
    expect(Math.abs(h.energy(q, p) - E)).toBeLessThanOrEqual(1e-12);
    expect(q[k]).toBe(0);
    expect(Math.sign(p[k]!)).toBe(sign);
  }
}

describe('--init energy', () => {
  it('puts every Hénon–Heiles member on H = 1/8 and y = 0 with p_y > 0, spread over the (x, px) disk', () => {
    const chosen = chooseSystem('run', { model: 'henon-heiles' });
    const { q0, p0, batch } = chooseStates('run', { init: 'energy', energy: '0.125', section: 'y', radius: '0.5', seed: '3' }, chosen, 256);
    expect(batch).toBe(256);
    expectOnLevel(chosen.hamiltonian, q0, p0, 0.125, 1, 1);
    // Independent oracle on the section y = 0: H = (px² + py²)/2 + x²/2, so py = √(2E − x² − px²).
    for (let b = 0; b < batch; b++) {
      const x = q0[2 * b]!, px = p0[2 * b]!;
      expect(p0[2 * b + 1]!).toBeCloseTo(Math.sqrt(2 * 0.125 - x * x - px * px), 12);
    }
    // Spread: the members reach most of the disk x² + px² ≤ 1/4.
    const xs = Array.from({ length: batch }, (_, b) => q0[2 * b]!);
    expect(Math.max(...xs)).toBeGreaterThan(0.35);
    expect(Math.min(...xs)).toBeLessThan(-0.35);
  });

  it('solves a non-quadratic kinetic energy (--H) and takes the sign of --section-direction -1 (--system)', () => {
    const H = 'px^4/4 + cosh(py) - 1 + (x^2 + y^2)/2 + x*y/4';
    const formula = chooseSystem('run', { H, q: 'x,y', p: 'px,py' });
    const a = chooseStates('run', { init: 'energy', energy: '0.3', section: 'x', radius: '0.4' }, formula, 64);
    expectOnLevel(formula.hamiltonian, a.q0, a.p0, 0.3, 0, 1);
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(file, JSON.stringify({ q: ['x', 'y'], p: ['px', 'py'], H }));
    const spec = chooseSystem('run', { system: file });
    const b = chooseStates('run', { init: 'energy', energy: '0.3', section: 'x', 'section-direction': '-1', radius: '0.4' }, spec, 64);
    expectOnLevel(spec.hamiltonian, b.q0, b.p0, 0.3, 0, -1);
    // The other coordinates are drawn from the same streams: only the solved momentum's sign differs.
    expect(bits(b.q0)).toEqual(bits(a.q0));
    for (let m = 0; m < 64; m++) {
      expect(b.p0[2 * m]).toBe(-a.p0[2 * m]!);
      expect(b.p0[2 * m + 1]).toBe(a.p0[2 * m + 1]);
    }
  });

  it('draws member m from (seed, m) only: any shard split gives the same states bit for bit', () => {
    const chosen = chooseSystem('run', { model: 'henon-heiles' });
    const values = { init: 'energy', energy: '0.0833', section: 'y', radius: '0.45', seed: '11' };
    const all = chooseStates('run', values, chosen, 40);
    const parts = [[0, 7], [7, 20], [20, 21], [21, 40]].map(([start, end]) => chooseStates('run', values, chosen, 40, { start: start!, end: end! }));
    expect(bits(parts.flatMap((s) => Array.from(s.q0)))).toEqual(bits(all.q0));
    expect(bits(parts.flatMap((s) => Array.from(s.p0)))).toEqual(bits(all.p0));
    const other = chooseStates('run', { ...values, seed: '12' }, chosen, 40);
    expect(bits(other.q0)).not.toEqual(bits(all.q0));
  });

  it('darboux run: the crossings lie on y = 0 and on the level, and 4 merged shards equal the unsharded run bit for bit', async () => {
    const common = ['run', '--model', 'henon-heiles', '--method', 'yoshida4', '--dt', '0.05', '--steps', '600', '--batch', '12', '--init', 'energy', '--energy', '0.125', '--radius', '0.5', '--section', 'y', '--section-direction', '1', '--save-every', '100', '--quiet'];
    const whole = path.join(dir, 'whole.npz');
    expect(await main([...common, '--out', whole], capture().io)).toBe(0);
    const s = readNpz(fs.readFileSync(path.join(dir, 'whole-section.npz')));
    const h = henonHeiles().hamiltonian;
    const crossings = s.t!.shape[0]!;
    expect(crossings).toBeGreaterThan(24);
    for (let c = 0; c < crossings; c++) {
      const q = s.q!.data.subarray(2 * c, 2 * c + 2), p = s.p!.data.subarray(2 * c, 2 * c + 2);
      expect(Math.abs(q[1]!)).toBeLessThan(1e-12);
      expect(p[1]!).toBeGreaterThan(0);
      expect(Math.abs(h.energy(q, p) - 0.125)).toBeLessThan(1e-5); // yoshida4 at dt 0.05: the method's bounded error
    }
    const parts = path.join(dir, 'parts');
    for (let i = 1; i <= 4; i++) expect(await main([...common, '--shard', `${i}/4`, '--out', parts], capture().io)).toBe(0);
    const merged = path.join(dir, 'merged.npz');
    expect(await main(['merge', parts, '-o', merged, '--quiet'], capture().io)).toBe(0);
    const x = readNpz(fs.readFileSync(whole)), y = readNpz(fs.readFileSync(merged));
    for (const name of ['q', 'p', 'qs', 'ps', 't']) expect(bits(y[name]!.data)).toEqual(bits(x[name]!.data));
  });

  it('refuses: no --energy, no --section, a section that is no position, --energy without --init energy (exit 2)', async () => {
    const base = ['run', '--model', 'henon-heiles', '--steps', '10', '--batch', '2', '--quiet'];
    const grid = path.join(dir, 'grid.json');
    fs.writeFileSync(grid, JSON.stringify({ lam: [0.5, 1] }));
    const cases: [string[], RegExp][] = [
      [['--init', 'energy', '--section', 'y'], /--energy E/],
      [['--init', 'energy', '--energy', '0.1'], /--section NAME.*x, y/],
      [['--init', 'energy', '--energy', '0.1', '--section', 'px'], /positions x, y \(got 'px'\)/],
      [['--init', 'energy', '--energy', '0.1', '--section', 'x+y'], /got 'x\+y'/],
      [['--init', 'energy', '--energy', 'lots', '--section', 'y'], /--energy must be a finite number, got 'lots'/],
      [['--init', 'random', '--energy', '0.1'], /--energy needs --init energy/],
      [['--init', 'level'], /'random' or 'energy', got 'level'/],
      [['--init', 'energy', '--energy', '0.1', '--section', 'y', '--sweep', grid], /--init energy .* --sweep/],
    ];
    for (const [flags, message] of cases) {
      const c = capture();
      expect(await main([...base, ...flags], c.io)).toBe(2);
      expect(c.err()).toMatch(message);
    }
  });

  it('refuses a level below the minimum of H on the section with a DarbouxError naming E (exit 1)', async () => {
    const c = capture();
    expect(await main(['run', '--model', 'henon-heiles', '--steps', '10', '--batch', '2', '--init', 'energy', '--energy=-0.25', '--section', 'y', '--quiet'], c.io)).toBe(1);
    expect(c.err()).toMatch(/H = -0\.25/);
    const h = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2 + py^2)/2 + (x^2 + y^2)/2' });
    const spec = energyLevelSpec('run', { energy: '-1', section: 'x' }, h, 0.1, 0, { q: [0, 0], p: [0, 0] });
    let error: unknown;
    try { energyLevelStates(h, spec, 5, 1); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(DarbouxError);
    expect((error as DarbouxError).code).toBe('INPUT');
    expect((error as DarbouxError).details).toMatchObject({ energy: -1, member: 5 });
  });
});
