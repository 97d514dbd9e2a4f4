/** Pair, edge and site reductions on the GPU (naive lowering: one invocation per trajectory): GPU ≡ CPU at f32 tolerance. */
import { afterAll, describe, expect, it } from 'vitest';
import { add, div, dot, index, input, mul, param, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { edgeSum, pairSum } from '../../src/ir/ops/pairs.js';
import { siteSum } from '../../src/ir/ops/sites.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { evaluateOnGpu } from './evaluate-on-gpu.js';

afterAll(() => releaseGpu());

const eps = param('eps'), sig = param('sig');
const lj = (r: Expr) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6)));

function lattice(n: number, dim: number, L: number, seed: number): Float64Array {
  const side = Math.ceil(n ** (1 / dim));
  let s = seed;
  const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const q = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let c = i;
    for (let a = 0; a < dim; a++) {
      q[i * dim + a] = Math.fround(((c % side) + 0.5 + 0.2 * (rnd() - 0.5)) * (L / side));
      c = Math.floor(c / side);
    }
  }
  return q;
}

describe('pair reductions: emitted WGSL ≡ f64 evaluation', () => {
  it('LJ energy and forces (3D periodic, cutoff, shift), a bonded chain and an external field', async () => {
    const n = 12, dim = 3, L = 4.1;
    const q = input('q', 'q', [n * dim]);
    const E = add(
      add(pairSum(q, { n, dim, potential: lj, box: [L, L, L], cutoff: 2, shift: true }),
        edgeSum(q, { n, dim, edges: [[0, 1], [1, 2], [2, 5], [7, 3]], potential: (r) => mul(30, powi(sub(r, 1), 2)), box: [L, L, L] })),
      siteSum(q, { n, dim, body: (x) => mul(0.2, index(x, 2)) }),
    );
    const [dE] = gradient(E, [q]);
    const points = [1, 2, 3].map((s) => lattice(n, dim, L, s));
    const got = await evaluateOnGpu([q, eps, sig], [E, dE!], points.map((p) => [...p, 1, 1]), 'pair sums');
    const stride = got.length / points.length;
    points.forEach((p, k) => {
      const want = [new Float64Array(1), new Float64Array(n * dim)];
      graphEvaluator([q, eps, sig], [E, dE!])([p, [1], [1]], want);
      const flat = [...want[0]!, ...want[1]!];
      const scale = Math.max(...flat.map(Math.abs));
      flat.forEach((v, i) => expect(Math.abs(got[k * stride + i]! - v), `point ${k} output ${i}`).toBeLessThan(2e-5 * scale));
    });
  });

  it('leapfrog on the GPU stepper agrees with the CPU (16 LJ particles, 2D periodic, 200 steps)', async () => {
    const n = 16, dim = 2, L = 4.4;
    const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
    const H = add(mul(0.5, dot(p, p)), pairSum(q, { n, dim, potential: lj, box: [L, L], cutoff: 2.2, shift: true }));
    const h = new Hamiltonian({ H, q, p, params: { eps: 1, sig: 1 } });
    const q0 = lattice(n, dim, L, 5), p0 = Float64Array.from({ length: n * dim }, (_, i) => Math.fround(0.3 * Math.sin(i)));
    const gpu = await compile(h, { method: 'leapfrog', dt: 0.002, backend: 'gpu', particleKernel: 'off' }); // the per-trajectory lowering
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.002, backend: 'cpu' });
    expect(gpu.backend).toBe('gpu');
    const a = await gpu.run({ q0, p0, steps: 200 }), b = await cpu.run({ q0, p0, steps: 200 });
    for (let i = 0; i < n * dim; i++) {
      expect(Math.abs(a.q[i]! - b.q[i]!)).toBeLessThan(1e-3);
      expect(Math.abs(a.p[i]! - b.p[i]!)).toBeLessThan(1e-2);
    }
    const momentum = (pp: Float64Array) => [0, 1].map((d) => pp.reduce((s, x, i) => (i % dim === d ? s + x : s), 0));
    momentum(a.p).forEach((m, d) => expect(Math.abs(m - momentum(p0)[d]!)).toBeLessThan(1e-4));
    gpu.dispose();
    cpu.dispose();
  });
});
