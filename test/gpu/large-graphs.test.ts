/**
 * Long sums on the GPU backend: generated WGSL never nests deeper than Tint parses (without the inline-depth
 * bound, a 400-term sum failed with "maximum parser recursive depth reached"), and a kernel too large to compile
 * in reasonable time is refused with a DarbouxError instead of appearing to hang.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, DarbouxError, parse } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

/** H = p²/2 + Σₖ cₖ cos(k q), cₖ = 1/k³. */
const cosineSum = (K: number) =>
  parse({ q: ['q'], p: ['p'], H: `p^2/2 + ${Array.from({ length: K }, (_, j) => `${(1 / (j + 1) ** 3).toPrecision(15)}*cos(${j + 1}*q)`).join(' + ')}` });

describe('long sums on the GPU backend', () => {
  it.each(['leapfrog', 'midpoint'])('a 400-term sum compiles and runs (%s, vs the CPU backend)', async (method) => {
    const h = cosineSum(400);
    const gpu = await compile(h, { method, dt: 0.01, backend: 'gpu' });
    const cpu = await compile(h, { method, dt: 0.01, backend: 'cpu' });
    const a = await gpu.run({ q0: [0.3], p0: [0.2], steps: 3 });
    const b = await cpu.run({ q0: [0.3], p0: [0.2], steps: 3 });
    expect(Math.abs(a.q[0]! - b.q[0]!)).toBeLessThan(1e-5);
    expect(Math.abs(a.p[0]! - b.p[0]!)).toBeLessThan(1e-5);
    gpu.dispose();
    cpu.dispose();
  });

  it('a 50 000-term sum is refused with a DarbouxError that says why', async () => {
    const h = cosineSum(50_000);
    const started = performance.now();
    const error = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'gpu' }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DarbouxError);
    expect((error as DarbouxError).code).toBe('DEVICE');
    expect((error as DarbouxError).message).toMatch(/step kernel has \d+ nodes.*backend: 'cpu'/);
    expect(performance.now() - started).toBeLessThan(60_000);
  });
});
