/** The pair-weight rewrites of the per-particle kernels (pair-weight.ts) against f(r)/r evaluated in f64. */
import { describe, expect, it } from 'vitest';
import { add, constant, div, exp, mul, neg, powi, sqrt } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { bound } from '../../src/ir/ops/pair-body.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { R_SQUARED, shareReciprocals, weightOverSquare } from '../../src/codegen/pair-weight.js';

const r = bound('r');
const at = (e: Expr, input: Expr, x: number) => {
  const out = [new Float64Array(1)];
  graphEvaluator([input], [e])([[x]], out);
  return out[0]![0]!;
};
const derivative = (V: Expr) => gradient(V, [r])[0]!;

describe('weightOverSquare', () => {
  const potentials: [string, Expr][] = [
    ['softened gravity', neg(div(constant(0.3), sqrt(add(powi(r, 2), 0.01))))],
    ['harmonic in r²', mul(2.5, powi(r, 2))],
    ['Gaussian', exp(neg(mul(r, r)))],
  ];
  for (const [name, V] of potentials) {
    it(`${name}: w(r²) = f(r)/r without r`, () => {
      const f = derivative(V);
      const w = weightOverSquare(f, r);
      expect(w).not.toBeNull();
      for (const x of [0.3, 1, 2.7]) {
        const want = at(f, r, x) / x;
        expect(Math.abs(at(w!, R_SQUARED, x * x) - want)).toBeLessThan(1e-12 * Math.abs(want));
        expect(Math.abs(at(shareReciprocals(w!), R_SQUARED, x * x) - want)).toBeLessThan(1e-12 * Math.abs(want));
      }
    });
  }

  it('a potential that reads r itself (Lennard-Jones through (σ/r)^12) keeps f(r)/r', () => {
    const V = mul(4, add(powi(div(1, r), 12), neg(powi(div(1, r), 6))));
    expect(weightOverSquare(derivative(V), r)).toBeNull();
    expect(weightOverSquare(derivative(mul(r, r)), r)).not.toBeNull();
    expect(weightOverSquare(derivative(powi(r, 3)), r)).toBeNull();
  });
});
