import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { index, input, type Expr } from '../../src/index.js';
import { compileJs, gradient } from '../../src/internals.js';
import { releaseGpu } from '../../src/runtime/index.js';
import { evaluateOnGpu } from './evaluate-on-gpu.js';
import { arbitraryExpr, liftedCases } from '../unit/arbitrary.js';

afterAll(() => releaseGpu());

describe('WGSL emission of random expressions', () => {
  it('Dawn accepts the WGSL, and it evaluates equal to the f64 JS backend within f32 tolerance', async () => {
    const dof = 3;
    const z = input('aux', 'z', [dof]);
    const leaves = Array.from({ length: dof }, (_, i) => index(z, i));
    // 40 random expressions and their gradients, evaluated in one kernel at 200 points.
    const exprs = fc.sample(arbitraryExpr(leaves, 4), { numRuns: 40, seed: 20261123 });
    const outputs: Expr[] = exprs.flatMap((e) => [e, gradient(e, [z])[0]!]);
    const points = fc.sample(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: dof, maxLength: dof }), { numRuns: 200, seed: 7 });
    // Points exactly representable in f32, so both backends see the same inputs.
    const f32Points = points.map((pt) => pt.map((v) => Math.fround(v)));
    const gpuValues = await evaluateOnGpu([z], outputs, f32Points);
    const js = compileJs([z], outputs);
    const stride = outputs.reduce((s, o) => s + Math.max(1, o.shape.reduce((a, b) => a * b, 1)), 0);
    let worst = 0;
    f32Points.forEach((pt, k) => {
      const outs = outputs.map((o) => new Float64Array(o.shape.length === 0 ? 1 : o.shape[0]!));
      js([pt], outs);
      const flat = outs.flatMap((o) => Array.from(o));
      flat.forEach((v, i) => {
        const g = gpuValues[k * stride + i]!;
        const err = Math.abs(g - v) / (1 + Math.abs(v));
        worst = Math.max(worst, err);
        if (!(err < 5e-4)) throw new Error(`output ${i} at point ${pt}: gpu ${g} vs js ${v}`);
      });
    });
    expect(worst).toBeLessThan(5e-4);
    expect(worst).toBeGreaterThan(0); // f32 really differs from f64: the comparison ran
  });
});

describe('WGSL loop fusion', () => {
  it('fused elementwise chains over 24-element tensors evaluate on the GPU like the f64 JS backend', async () => {
    const cases = liftedCases(12, 99).filter((c) => c.F.shape.length > 0);
    const first = cases[0]!;
    const inputs = [first.X, first.Y, first.W, first.w];
    // One output per reader and case: each reader alone in its graph, so the chain fuses into it.
    const outputs = cases.flatMap((c) => c.outputs.slice(0, 5));
    const N = 24;
    const point = (s: number) => [
      ...Array.from({ length: N }, (_, i) => Math.fround(0.9 * Math.sin(1.3 * i + s))),
      ...Array.from({ length: N }, (_, i) => Math.fround(0.9 * Math.cos(0.7 * i + s))),
      ...Array.from({ length: 5 * N }, (_, i) => Math.fround(0.3 * Math.sin(i + s))),
      ...Array.from({ length: N }, (_, i) => Math.fround(0.3 * Math.cos(2 * i + s))),
    ];
    const points = [0, 1, 2, 3].map(point);
    const gpuValues = await evaluateOnGpu(inputs, outputs, points);
    const stride = outputs.reduce((s, o) => s + Math.max(1, o.shape.reduce((a, b) => a * b, 1)), 0);
    const js = compileJs(inputs, outputs);
    let worst = 0;
    points.forEach((pt, k) => {
      const outs = outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
      js([pt.slice(0, N), pt.slice(N, 2 * N), pt.slice(2 * N, 7 * N), pt.slice(7 * N)], outs);
      outs.flatMap((o) => Array.from(o)).forEach((v, i) => {
        const err = Math.abs(gpuValues[k * stride + i]! - v) / (1 + Math.abs(v));
        worst = Math.max(worst, err);
      });
    });
    expect(worst).toBeLessThan(1e-3);
    expect(worst).toBeGreaterThan(0);
  });
});
