/**
 * The slot coordinates of a neighbour list living in the WebAssembly pair loop's memory (src/ir/ops/pair-wasm.ts:
 * the refresh and the ghost images write them there, the module reads them in place, no copy): evaluations that
 * only refresh the list between rebuilds, and a memory that grows (a dense cluster: many more partners) in the
 * middle of a run, give the JS loop's forces bit for bit — stale or detached coordinates would not — and so do
 * the module at every unroll and leapfrog runs on 1 and 2 threads in a small periodic box (ghosts on every side).
 */
import { describe, expect, it } from 'vitest';
import { div, input, mul, param, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { neighbourGrid, SKIN_FRACTION } from '../../src/ir/ops/pair-neighbours.js';
import { wasmPairLoops } from '../../src/ir/ops/pair-wasm.js';
import { PAIR_LOOP_UNROLL } from '../../src/ir/wasm/pair-loop.js';
import { seededRandom } from './op-cases.js';
import { jitteredLattice, pairLoopRunner } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
const EPS = 1.1, SIG = 0.95;
const lj = (r: Expr) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6)));
const n = 250, dim = 3, box = [8.6, 9.0, 9.4], cutoff = 2.5, skin = SKIN_FRACTION * cutoff;

/** The energy and force function with the WebAssembly pair loop on or off. */
function forceFunction(wasm: boolean) {
  const q = input('q', 'q', [n * dim]);
  const E = pairSum(q, { n, dim, potential: lj, box, cutoff, shift: false });
  wasmPairLoops.enabled = wasm;
  try {
    return compileJs([q, eps, sig], [E, gradient(E, [q])[0]!]);
  } finally {
    wasmPairLoops.enabled = true;
  }
}

/** The generated function of `source` counting the list's builds, the memory's grows and the module's calls. */
function counted(source: string) {
  const uses = { builds: 0, grows: 0, wasm: 0 };
  const patched = source
    .replace(/^(function \w+\(coordinates, offset\) \{)$/m, '$1 __uses.builds++;')
    .replace('if (need > l) m.grow(', 'if (need > l) __uses.grows++, m.grow(')
    .replace(/^(\s*)(\w*h\d+\(.*\.o, .*\));$/gm, (_, indent, call) => `${indent}__uses.wasm++; ${call};`);
  const fn = new Function('__uses', patched)(uses) as (inputs: ArrayLike<number>[], outputs: Float64Array[]) => void;
  return { fn, uses };
}

const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, k) => Math.max(m, Math.abs(x - b[k]!)), 0);

describe('slot coordinates in the WebAssembly pair memory', () => {
  it('refresh-only evaluations between rebuilds, and a memory grown by a dense cluster mid-run, give the JS loop\'s forces bit for bit', () => {
    expect(neighbourGrid({ n, dim, box, cutoff, edges: null })).not.toBeNull();
    const withWasm = forceFunction(true), jsOnly = forceFunction(false);
    expect(withWasm.source.includes('.exports.pairs')).toBe(true);
    expect(withWasm.source).not.toMatch(/\.set\(\w+\.subarray\(0, s \* 3\)\)/); // no copy of the coordinates
    const { fn, uses } = counted(withWasm.source);
    const { fn: js } = counted(jsOnly.source);
    const rng = seededRandom(5);
    const q = jitteredLattice(n, dim, Math.min(...box), 2).q0;
    const velocity = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const centre = box.map((L) => L / 2);
    const evaluate = () => {
      const a = [new Float64Array(1), new Float64Array(n * dim)], b = [new Float64Array(1), new Float64Array(n * dim)];
      fn([q, [EPS], [SIG]], a);
      js([q, [EPS], [SIG]], b);
      expect(maxDifference(a[1]!, b[1]!)).toBe(0);
      expect(a[0]![0]).toBe(b[0]![0]);
      expect(a[1]!.every(Number.isFinite)).toBe(true);
    };
    const drift = (steps: number) => {
      for (let s = 0; s < steps; s++) {
        evaluate();
        for (let k = 0; k < q.length; k++) q[k] = q[k]! + 0.12 * skin * velocity[k]!;
      }
    };
    drift(30);
    const builds = uses.builds, grows = uses.grows;
    expect(builds).toBeGreaterThanOrEqual(3); // rebuilt on the way …
    expect(builds).toBeLessThanOrEqual(12); // … and refreshed only in most evaluations
    // A dense cluster: every site pulled halfway to the centre (8× the density: many more partners, a larger memory).
    for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) q[i * dim + k] = centre[k]! + 0.55 * (q[i * dim + k]! - centre[k]!);
    drift(12);
    expect(uses.grows).toBeGreaterThan(grows);
    // Back out again: a smaller list in the grown memory.
    for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) q[i * dim + k] = centre[k]! + (q[i * dim + k]! - centre[k]!) / 0.55;
    drift(12);
    expect(uses.wasm).toBe(54);
    expect(uses.builds - builds).toBeLessThanOrEqual(16);
  });

  it('the module unrolled 1 to 5 times gives the JS loop\'s forces bit for bit (the same lanes, the same order)', () => {
    const jsOnly = forceFunction(false);
    const q = jitteredLattice(n, dim, Math.min(...box), 4).q0;
    const want = [new Float64Array(1), new Float64Array(n * dim)];
    jsOnly([q, [EPS], [SIG]], want);
    for (const unroll of [1, 2, 3, 4, 5]) {
      wasmPairLoops.unroll = unroll;
      let f: ReturnType<typeof forceFunction>;
      try {
        f = forceFunction(true);
      } finally {
        wasmPairLoops.unroll = PAIR_LOOP_UNROLL;
      }
      const got = [new Float64Array(1), new Float64Array(n * dim)];
      f([q, [EPS], [SIG]], got);
      expect(maxDifference(got[1]!, want[1]!)).toBe(0);
      expect(got[0]![0]).toBe(want[0]![0]);
    }
  });

  it('leapfrog runs in a small periodic box: the WebAssembly loop equals the JS loop bit for bit on 1 and 2 threads, over rebuilds', async () => {
    const { q0, p0 } = jitteredLattice(n, dim, Math.min(...box), 9);
    for (let k = 0; k < p0.length; k++) p0[k] = 3 * p0[k]!; // hot: the list is rebuilt every few steps
    const run = pairLoopRunner({ n, dim, box, potential: lj, params: { eps: EPS, sig: SIG }, cutoff }, q0, p0);
    for (const threads of [1, 2]) {
      const wasm = await run(threads, true), js = await run(threads, false);
      expect(maxDifference(wasm.q, js.q) + maxDifference(wasm.p, js.p)).toBe(0);
      expect(maxDifference(wasm.q, q0)).toBeGreaterThan(2 * skin); // rebuilt on the way
    }
  }, 30_000);
});
