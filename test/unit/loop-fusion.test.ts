import { describe, expect, it } from 'vitest';
import { dot, matTvec, param, sum } from '../../src/index.js';
import { compileJs } from '../../src/internals.js';
import { liftedCases } from './arbitrary.js';

const N = 24;

describe('loop fusion agrees with scalar evaluation (property)', () => {
  it('fused elementwise chains under sum, dot, matvec, index and products equal the scalar function element by element', () => {
    const xs = Float64Array.from({ length: N }, (_, i) => Math.sin(1.3 * i)), ys = Float64Array.from({ length: N }, (_, i) => Math.cos(0.7 * i + 0.2));
    const Wv = Float64Array.from({ length: 5 * N }, (_, i) => Math.sin(i)), wv = Float64Array.from({ length: N }, (_, i) => Math.cos(2 * i));
    let checked = 0;
    for (const c of liftedCases(60, 20261123)) {
      if (c.F.shape.length === 0) continue; // a constant expression: nothing to lift
      const scalar = compileJs([c.x, c.y], [c.f]);
      const out = [new Float64Array(1)];
      const ref = Array.from({ length: N }, (_, i) => {
        scalar([[xs[i]!], [ys[i]!]], out);
        return out[0]![0]!;
      });
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * (1 + Math.abs(b));
      // Each reader compiled alone (then F's only reader is that op, so F fuses into it), and all together
      // (then F is stored once and its inner chain fuses into F's loop).
      const outs = c.outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
      c.outputs.forEach((o, k) => compileJs([c.X, c.Y, c.W, c.w], [o])([xs, ys, Wv, wv], [outs[k]!]));
      const together = c.outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
      compileJs([c.X, c.Y, c.W, c.w], c.outputs)([xs, ys, Wv, wv], together);
      together.forEach((o, k) => o.forEach((v, i) => expect(v).toBe(outs[k]![i]!)));
      // Only reductions read F: one shared loop computes F[i] once and updates every accumulator.
      const M = param('M', [N, 3]);
      const Mv = Float64Array.from({ length: 3 * N }, (_, i) => Math.cos(0.3 * i));
      const siblings = [sum(c.F), dot(c.F, c.w), matTvec(M, c.F)];
      const joint = compileJs([c.X, c.Y, c.w, M], siblings);
      const sOut = [new Float64Array(1), new Float64Array(1), new Float64Array(3)];
      joint([xs, ys, wv, Mv], sOut);
      const sExpected = [ref.reduce((s, v) => s + v, 0), ref.reduce((s, v, i) => s + v * wv[i]!, 0), ...[0, 1, 2].map((j) => ref.reduce((s, v, i) => s + Mv[i * 3 + j]! * v, 0))];
      sOut.flatMap((o) => Array.from(o)).forEach((v, i) => {
        if (!close(v, sExpected[i]!)) throw new Error(`sibling output ${i}: ${v} vs ${sExpected[i]} for ${c.f.key}`);
      });
      const expected = [
        ref.reduce((s, v) => s + v, 0),
        ref.reduce((s, v, i) => s + v * wv[i]!, 0),
        ...Array.from({ length: 5 }, (_, r) => ref.reduce((s, v, j) => s + Wv[r * N + j]! * v, 0)),
        ref[7]!,
        ref.reduce((s, v) => s + v * v, 0),
        ...ref,
      ];
      const got = outs.flatMap((o) => Array.from(o));
      expect(got.length).toBe(expected.length);
      got.forEach((v, i) => {
        if (!close(v, expected[i]!)) throw new Error(`output ${i}: fused ${v} vs scalar ${expected[i]} for ${c.f.key}`);
      });
      checked++;
    }
    expect(checked).toBeGreaterThan(40);
  });
});

describe('sibling reductions', () => {
  it('share one loop over a tensor that only reductions read (no array, the element computed once)', async () => {
    const { input, mul, sin, add } = await import('../../src/index.js');
    const X = input('aux', 'X', [24]), Y = input('aux', 'Y', [24]), w = param('w', [24]), M = param('M', [24, 3]);
    const F = mul(sin(X), add(Y, 1));
    const f = compileJs([X, Y, w, M], [sum(F), dot(F, w), matTvec(M, F)]);
    expect(f.source.match(/for \(/g)?.length).toBe(1);
    expect(f.source.match(/Math\.sin/g)?.length).toBe(1);
    expect(f.source).not.toMatch(/Float64Array/);
  });
});
