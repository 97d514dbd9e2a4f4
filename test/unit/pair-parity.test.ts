/**
 * The JS force weight over r² (src/ir/ops/pair-parity.ts): for potentials even in r (Lennard-Jones, soft spheres,
 * a Gaussian, r² terms), w(R) at R = r² equals f(r)/r with f = dV/dr by hand to 1e-14; potentials that are not
 * functions of r² (Morse, a harmonic bond about r0, a Yukawa tail) are left alone (null).
 */
import { describe, expect, it } from 'vitest';
import { add, constant, div, exp, input, mul, neg, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { bound } from '../../src/ir/ops/pair-body.js';
import { R_SQUARED_BOUND, weightOverR2 } from '../../src/ir/ops/pair-parity.js';

const r = bound('r');
const sig = input('param', 'sig', []);
const cases: { name: string; V: (r: Expr) => Expr; dV: (r: number, s: number) => number }[] = [
  { name: 'Lennard-Jones', V: (x) => mul(4, sub(powi(div(sig, x), 12), powi(div(sig, x), 6))), dV: (x, s) => 4 * (-12 * s ** 12 / x ** 13 + 6 * s ** 6 / x ** 7) },
  { name: 'soft sphere (σ/r)^8 · r^2', V: (x) => mul(powi(div(sig, x), 8), mul(x, x)), dV: (x, s) => -6 * s ** 8 / x ** 7 },
  { name: 'Gaussian', V: (x) => exp(neg(div(mul(x, x), sig))), dV: (x, s) => (-2 * x / s) * Math.exp(-(x * x) / s) },
  { name: 'r^-4 + r^6 − 1/(r·r^-1·r)^2', V: (x) => sub(add(powi(x, -4), powi(x, 6)), div(1, powi(mul(mul(x, div(1, x)), x), 2))), dV: (x) => -4 / x ** 5 + 6 * x ** 5 + 2 / x ** 3 },
];
const refused: { name: string; V: (r: Expr) => Expr }[] = [
  { name: 'Morse', V: (x) => powi(sub(1, exp(neg(sub(x, sig)))), 2) },
  { name: 'harmonic bond about r0', V: (x) => mul(0.5, powi(sub(x, constant(1.1)), 2)) },
  { name: 'Yukawa', V: (x) => div(exp(neg(x)), x) },
  { name: 'odd powers (σ/r)^9 · r^2, r^-3', V: (x) => add(mul(powi(div(sig, x), 9), mul(x, x)), powi(x, -3)) },
];

describe('force weights over r² (JS pair loops)', () => {
  for (const { name, V, dV } of cases) {
    it(`${name}: w(r²) = V′(r)/r`, () => {
      const [f] = gradient(V(r), [r]);
      const w = weightOverR2(f!, r);
      expect(w).not.toBeNull();
      const ev = graphEvaluator([R_SQUARED_BOUND, sig], [w!]);
      for (const x of [0.9, 1.3, 2.2]) {
        const out = [new Float64Array(1)];
        ev([Float64Array.of(x * x), Float64Array.of(1.1)], out);
        const want = dV(x, 1.1) / x;
        expect(Math.abs(out[0]![0]! - want)).toBeLessThan(1e-14 * Math.max(1, Math.abs(want)));
      }
    });
  }
  for (const { name, V } of refused) {
    it(`${name}: not a function of r², left as f(r)/r`, () => {
      const [f] = gradient(V(r), [r]);
      expect(weightOverR2(f!, r)).toBeNull();
    });
  }
});
