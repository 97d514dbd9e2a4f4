/**
 * Every op record on the GPU: for each op of the registry, its test cases (test/unit/op-cases.ts) are emitted
 * as one WGSL evaluator kernel, run on the test adapter at random points of the op's domain, and compared
 * with the IR's f64 evaluation within f32 tolerance.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { opNames } from '../../src/ir/op.js';
import { size } from '../../src/ir/shape.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { evaluateOnGpu } from './evaluate-on-gpu.js';
import { opCases, sampleInputs, seededRandom, type OpCase } from '../unit/op-cases.js';

afterAll(() => releaseGpu());

const POINTS = 4;

/**
 * Cases in one kernel: the union of their inputs (a case's variants share leaves, so each leaf is listed and
 * sampled once) and of their outputs.
 */
function combine(cases: readonly OpCase[], rng: () => number) {
  const inputs = [...new Set(cases.flatMap((c) => c.inputs))];
  const outputs = cases.flatMap((c) => c.outputs);
  const labels = cases.flatMap((c) => c.outputs.flatMap((o) => Array.from({ length: size(o.shape) }, (_, i) => `${c.label} [${i}]`)));
  // Values exactly representable in f32, so both evaluations see the same inputs.
  const points = Array.from({ length: POINTS }, () => {
    const values = new Map<Expr, Float64Array>();
    for (const c of cases) sampleInputs(c, rng).forEach((v, k) => values.has(c.inputs[k]!) || values.set(c.inputs[k]!, v.map(Math.fround)));
    return inputs.map((x) => values.get(x)!);
  });
  return { inputs, outputs, labels, points };
}

describe('op records: evaluation ≡ emitted WGSL (f32) for every registered op', () => {
  for (const name of opNames()) {
    it(name, async () => {
      const { inputs, outputs, labels, points } = combine(opCases(name), seededRandom(404));
      const flatPoints = points.map((pt) => {
        const flat = new Float32Array(pt.reduce((s, v) => s + v.length, 0));
        let at = 0;
        for (const v of pt) (flat.set(v, at), (at += v.length));
        return flat;
      });
      const gpu = await evaluateOnGpu(inputs, outputs, flatPoints, `op ${name}`);
      const reference = graphEvaluator(inputs, outputs);
      const stride = labels.length;
      let worst = 0;
      points.forEach((pt, k) => {
        const out = outputs.map((o) => new Float64Array(size(o.shape)));
        reference(pt, out);
        out.flatMap((o) => Array.from(o)).forEach((v, i) => {
          const g = gpu[k * stride + i]!;
          const err = Math.abs(g - v) / (1 + Math.abs(v));
          worst = Math.max(worst, err);
          if (!(err < 2e-4)) throw new Error(`${labels[i]} at point ${k}: WGSL ${g}, f64 evaluation ${v}`);
        });
      });
      expect(worst).toBeLessThan(2e-4);
    });
  }
});
