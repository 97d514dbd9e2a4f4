import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileJs } from '../../src/index.js';
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
      // Each reader compiled alone (then F's only reader is that op, so F fuses into it), and all together
      // (then F is stored once and its inner chain fuses into F's loop).
      const outs = c.outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
      c.outputs.forEach((o, k) => compileJs([c.X, c.Y, c.W, c.w], [o])([xs, ys, Wv, wv], [outs[k]!]));
      const together = c.outputs.map((o) => new Float64Array(Math.max(1, o.shape.reduce((a, b) => a * b, 1))));
      compileJs([c.X, c.Y, c.W, c.w], c.outputs)([xs, ys, Wv, wv], together);
      together.forEach((o, k) => o.forEach((v, i) => expect(v).toBe(outs[k]![i]!)));
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * (1 + Math.abs(b));
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
