/**
 * The threaded CPU runner (src/backends/cpu/threaded-runner.ts, src/ir/ops/pair-threads.ts): leapfrog on 1, 2
 * and 3 worker threads against a hand-written all-pairs leapfrog (forces by an O(N²) minimum-image loop written
 * here) over many neighbour-list rebuilds, 1 vs 2 threads to 1e-12, 2-thread runs equal bit for bit, a pair sum
 * inside the force (cross-thread scalar sums), a system without neighbour lists (all pairs, worker 0), batches,
 * the thread-count option, and a child process that exits by itself with workers left undisposed or disposed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { add, div, dot, exp, input, mul, param } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { neighbourGrid, SKIN_FRACTION } from '../../src/ir/ops/pair-neighbours.js';
import { runnerThreads, THREADED_MIN_SITES } from '../../src/backends/cpu/threaded-runner.js';
import { stepProgram } from '../../src/integrators/methods.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { seededRandom } from './op-cases.js';
import { allPairsReference, relativeError } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
const EPS = 1.3, SIG = 0.8;
/** A smooth positive potential eps·exp(−r²/sig)·(1 + r), and its value and derivative by hand. */
const softV = (r: Expr) => mul(mul(eps, exp(div(mul(-1, mul(r, r)), sig))), add(1, r));
const f = (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 + r);
const df = (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 - (2 * r * (1 + r)) / SIG);


/** Leapfrog (kick–drift–kick) of H = p²/2 + V + c·V² over the reference (force (1 + 2cV)·∇V). */
function handLeapfrog(q0: Float64Array, p0: Float64Array, n: number, dim: number, box: number[] | null, cutoff: number, c: number, dt: number, steps: number) {
  const qs = Float64Array.from(q0), ps = Float64Array.from(p0);
  const grad = () => { const { E, G } = reference(qs, n, dim, box, cutoff); return G.map((x) => (1 + 2 * c * E) * x); };
  let g = grad();
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < qs.length; i++) { ps[i] = ps[i]! - 0.5 * dt * g[i]!; qs[i] = qs[i]! + dt * ps[i]!; }
    g = grad();
    for (let i = 0; i < qs.length; i++) ps[i] = ps[i]! - 0.5 * dt * g[i]!;
  }
  return { q: qs, p: ps };
}

const rel = relativeError;
/** O(N²) energy and ∂E/∂q (minimum image by Math.round; box null: open boundaries). */
const reference = (q: Float64Array, n: number, dim: number, box: number[] | null, cutoff: number) => allPairsReference(q, n, dim, box, cutoff, { f, df });

/** The largest displacement of a particle between two states (unwrapped coordinates). */
function maxDisplacement(a: Float64Array, b: Float64Array, dim: number): number {
  let out = 0;
  for (let i = 0; i < a.length; i += dim) out = Math.max(out, Math.hypot(...Array.from({ length: dim }, (_, k) => a[i + k]! - b[i + k]!)));
  return out;
}

/** H = p²/2 + V + c·V² with V a pair sum (c ≠ 0 puts the pair sum V itself into the force). */
function system(n: number, dim: number, box: number[] | null, cutoff: number, c: number) {
  const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
  const V = pairSum(q, { n, dim, potential: softV, cutoff, shift: false, ...(box ? { box } : {}) });
  const U = c === 0 ? V : add(V, mul(c, mul(V, V)));
  return new Hamiltonian({ H: add(mul(0.5, dot(p, p)), U), q, p, params: { eps: EPS, sig: SIG } });
}

const N = 216, DIM = 3, BOX = [9.0, 9.3, 10.1], CUTOFF = 2.5;
const uniform = (rng: () => number, n: number, box: number[]) => Float64Array.from({ length: n * box.length }, (_, k) => rng() * box[k % box.length]!);

describe('threaded CPU runner', () => {
  it('1, 2 and 3 threads equal an all-pairs leapfrog over rebuilds; 1 vs 2 threads agree to 1e-12; 2 threads are reproducible bit for bit', async () => {
    expect(neighbourGrid({ n: N, dim: DIM, box: BOX, cutoff: CUTOFF, edges: null })).not.toBeNull();
    const h = system(N, DIM, BOX, CUTOFF, 0);
    const rng = seededRandom(5);
    const q0 = uniform(rng, N, BOX), p0 = Float64Array.from({ length: N * DIM }, () => 3 * (rng() - 0.5));
    const steps = 60, dt = 0.01;
    const want = handLeapfrog(q0, p0, N, DIM, BOX, CUTOFF, 0, dt, steps);
    expect(maxDisplacement(want.q, q0, DIM)).toBeGreaterThan(4 * SKIN_FRACTION * CUTOFF); // many rebuilds
    const results: Record<number, { q: Float64Array; p: Float64Array }> = {};
    for (const threads of [1, 2, 3]) {
      const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads });
      results[threads] = await st.run({ q0, p0, steps });
      expect(rel(results[threads]!.q, want.q)).toBeLessThan(1e-10);
      expect(rel(results[threads]!.p, want.p)).toBeLessThan(1e-10);
      if (threads === 2) {
        const again = await st.run({ q0, p0, steps });
        expect(Array.from(again.q)).toEqual(Array.from(results[2]!.q));
        expect(Array.from(again.p)).toEqual(Array.from(results[2]!.p));
      }
      st.dispose();
    }
    // One step: the forces differ by the order of their sums only.
    const one: Float64Array[] = [];
    for (const threads of [1, 2]) {
      const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads });
      one.push((await st.run({ q0, p0, steps: 1 })).p);
      st.dispose();
    }
    expect(rel(one[1]!, one[0]!)).toBeLessThan(1e-12);
    expect(rel(results[2]!.q, results[1]!.q)).toBeLessThan(1e-10);
  });

  it('a pair sum inside the force (summed across threads), batches, and a system without neighbour lists', async () => {
    const rng = seededRandom(9);
    const c = 0.01, steps = 40, dt = 0.005;
    const h = system(N, DIM, BOX, CUTOFF, c);
    const q0 = [uniform(rng, N, BOX), uniform(rng, N, BOX)], p0 = [0, 1].map(() => Float64Array.from({ length: N * DIM }, () => rng() - 0.5));
    const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads: 2 });
    const got = await st.run({ q0: Float64Array.of(...q0[0]!, ...q0[1]!), p0: Float64Array.of(...p0[0]!, ...p0[1]!), steps, batch: 2 });
    st.dispose();
    for (const b of [0, 1]) {
      const want = handLeapfrog(q0[b]!, p0[b]!, N, DIM, BOX, CUTOFF, c, dt, steps);
      expect(rel(got.q.subarray(b * N * DIM, (b + 1) * N * DIM), want.q)).toBeLessThan(1e-10);
      expect(rel(got.p.subarray(b * N * DIM, (b + 1) * N * DIM), want.p)).toBeLessThan(1e-10);
    }
    // Open boundaries (no cells): worker 0 visits every pair.
    const n = 40, open = system(n, 2, null, 3, c);
    const qo = Float64Array.from({ length: n * 2 }, () => 6 * rng()), po = Float64Array.from({ length: n * 2 }, () => rng() - 0.5);
    const so = await compile(open, { method: 'leapfrog', dt, backend: 'cpu', threads: 2 });
    const r = await so.run({ q0: qo, p0: po, steps });
    so.dispose();
    const want = handLeapfrog(qo, po, n, 2, null, 3, c, dt, steps);
    expect(rel(r.q, want.q)).toBeLessThan(1e-10);
    expect(rel(r.p, want.p)).toBeLessThan(1e-10);
  });

  it('the thread count: validated, 1 without pair loops, by default many only for large neighbour-listed systems', async () => {
    const small = stepProgram(system(N, DIM, BOX, CUTOFF, 0), 'leapfrog');
    expect(runnerThreads(small, undefined)).toBe(1);
    expect(runnerThreads(small, 3)).toBe(3);
    const q = input('q', 'q', [2]), p = input('p', 'p', [2]);
    const oscillator = stepProgram(new Hamiltonian({ H: add(dot(p, p), dot(q, q)), q, p }), 'leapfrog');
    expect(runnerThreads(oscillator, 4)).toBe(1);
    const side = Math.ceil(Math.cbrt(THREADED_MIN_SITES / 0.8));
    const large = stepProgram(system(THREADED_MIN_SITES, DIM, [side, side, side], CUTOFF, 0), 'leapfrog');
    expect(runnerThreads(large, undefined)).toBe(availableParallelism());
    for (const bad of [0, 1.5, -2, NaN]) {
      await expect(compile(system(N, DIM, BOX, CUTOFF, 0), { method: 'leapfrog', dt: 0.01, backend: 'cpu', threads: bad })).rejects.toMatchObject({ code: 'OPTION' });
    }
  });

  it('workers never keep the process alive: a script exits by itself, disposed or not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'darboux-threads-'));
    const index = pathToFileURL(join(process.cwd(), 'src', 'index.ts')).href;
    for (const dispose of [true, false]) {
      const script = join(dir, `run-${dispose}.mts`);
      writeFileSync(script, [
        `import { compile, fcc, maxwellBoltzmann, particles } from '${index}';`,
        `const { q, box } = fcc({ cells: [6, 6, 6], density: 0.8442 });`,
        `const n = q.length / 3;`,
        `const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 2.5, shift: false } });`,
        `const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu', threads: 2 });`,
        `const r = await st.run({ q0: q, p0: maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 }), steps: 20 });`,
        `${dispose ? 'st.dispose();' : ''}`,
        `console.log('done', Number.isFinite(r.q[0]));`,
      ].join('\n'));
      // Asynchronous, so that this test's own event loop stays free meanwhile.
      const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 100_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
      });
      expect(child.stderr).toBe('');
      expect(child.code).toBe(0);
      expect(child.stdout.trim()).toBe('done true');
    }
  }, 120_000);
});
