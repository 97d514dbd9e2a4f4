/**
 * Integer powers by repeated squaring (src/ir/ops/arithmetic.ts): the compiled code and the evaluator give bitwise
 * the same x^n, within a few ulps of the correctly rounded power (closed form: BigInt arithmetic on the exact
 * binary value of x), for negative bases and exponents too.
 */
import { describe, expect, it } from 'vitest';
import { input, powi } from '../../src/ir/build.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';

/** x^n correctly rounded for a double x (n ≥ 0) through exact rational arithmetic. */
function exactPower(x: number, n: number): number {
  const [mantissa, exponent] = (() => { let m = x, e = 0; while (!Number.isInteger(m)) { m *= 2; e--; } return [BigInt(m), e]; })();
  const num = mantissa ** BigInt(n);
  // num · 2^(e·n): Number(BigInt) rounds correctly; the power of two is exact in range.
  return Number(num) * 2 ** (exponent * n);
}

describe('powi by repeated squaring', () => {
  it('compiled code equals the evaluator bitwise and stays within n ulps of the exact power', () => {
    const x = input('q', 'x', []);
    for (let n = -13; n <= 13; n++) {
      if (n === 0) continue;
      const y = powi(x, n);
      const f = compileJs([x], [y]);
      const ev = graphEvaluator([x], [y]);
      for (const v of [1.1, -0.7, 3.3, 0.93]) {
        const out = [new Float64Array(1)];
        f([Float64Array.of(v)], out);
        const want = n > 0 ? exactPower(v, n) : 1 / exactPower(v, -n);
        const evaluated = [new Float64Array(1)];
        ev([Float64Array.of(v)], evaluated);
        expect(out[0]![0]).toBe(evaluated[0]![0]);
        expect(Math.abs(out[0]![0]! - want)).toBeLessThanOrEqual(Math.abs(n) * 2 * Number.EPSILON * Math.abs(want));
      }
    }
  });
});
