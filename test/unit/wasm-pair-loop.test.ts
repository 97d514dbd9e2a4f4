/**
 * The WebAssembly f64x2 pair loop of the neighbour-list forces (src/ir/ops/pair-wasm.ts, src/ir/wasm/pair-loop.ts):
 * that the generated code takes it (and keeps the JS loop alone for a body with exp), that its forces equal the JS
 * loop's bit for bit (the same terms, added in the same order) and an O(N²) oracle written here to 1e-12 on random
 * periodic boxes with several potentials (a parameterised one among them) over many list rebuilds, that
 * overlapping particles still stop a run with NONFINITE naming the pair, and that threaded runs equal one thread
 * within rounding, the JS loop bit for bit, and themselves from run to run.
 */
import { describe, expect, it } from 'vitest';
import { add, div, exp, input, mul, param, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { neighbourGrid, SKIN_FRACTION } from '../../src/ir/ops/pair-neighbours.js';
import { wasmPairLoops } from '../../src/ir/ops/pair-wasm.js';
import { pairLoopModule } from '../../src/ir/wasm/pair-loop.js';
import { parseLineExpr, parseStatements, type LineExpr, type LineStatement } from '../../src/ir/wasm/straight-line.js';
import { compile } from '../../src/backends/compile.js';
import { DarbouxError } from '../../src/errors.js';
import { particles } from '../../src/index.js';
import { seededRandom } from './op-cases.js';
import { allPairsReference, jitteredLattice, pairLoopRunner, relativeError, type HandWrittenPotential } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
const EPS = 1.3, SIG = 0.9;

/** Pair potentials as graphs and by hand (value and derivative): the oracle side. */
const POTENTIALS: Record<string, { V: (r: Expr) => Expr; hand: HandWrittenPotential; wasm: boolean }> = {
  'Lennard-Jones (eps, sig)': {
    V: (r) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6))),
    hand: { f: (r) => 4 * EPS * ((SIG / r) ** 12 - (SIG / r) ** 6), df: (r) => 4 * EPS * (-12 * SIG ** 12 / r ** 13 + 6 * SIG ** 6 / r ** 7) },
    wasm: true,
  },
  'soft sphere eps·(1 − r/(3 sig))² (reads r)': {
    V: (r) => mul(eps, powi(sub(1, div(r, mul(3, sig))), 2)),
    hand: { f: (r) => EPS * (1 - r / (3 * SIG)) ** 2, df: (r) => (-2 * EPS * (1 - r / (3 * SIG))) / (3 * SIG) },
    wasm: true,
  },
  'inverse fifth power 1/r⁵ + r': {
    V: (r) => add(div(1, powi(r, 5)), r),
    hand: { f: (r) => 1 / r ** 5 + r, df: (r) => -5 / r ** 6 + 1 },
    wasm: true,
  },
  'Gaussian eps·exp(−r²/sig) (exp: the JS loop)': {
    V: (r) => mul(eps, exp(div(mul(-1, mul(r, r)), sig))),
    hand: { f: (r) => EPS * Math.exp(-(r * r) / SIG), df: (r) => ((-2 * r) / SIG) * EPS * Math.exp(-(r * r) / SIG) },
    wasm: false,
  },
};

/** The energy and force function of `V` compiled with the WebAssembly pair loop on or off. */
function forceFunction(V: (r: Expr) => Expr, n: number, dim: number, box: number[], cutoff: number, wasm: boolean) {
  const q = input('q', 'q', [n * dim]);
  const E = pairSum(q, { n, dim, potential: V, box, cutoff, shift: false });
  const [g] = gradient(E, [q]);
  wasmPairLoops.enabled = wasm;
  try {
    return compileJs([q, eps, sig], [E, g!]);
  } finally {
    wasmPairLoops.enabled = true;
  }
}

/** The generated function of `source` with a counter of the calls of the WebAssembly loop (`h(aBegin, aEnd, 0, M.o, …)`). */
function counted(source: string): { fn: (inputs: ArrayLike<number>[], outputs: Float64Array[]) => void; uses: { wasm: number } } {
  const uses = { wasm: 0 };
  const patched = source.replace(/^(\s*)(\w*h\d+\(.*\.o, .*\));$/gm, (_, indent, call) => `${indent}__uses.wasm++; ${call};`);
  return { fn: new Function('__uses', patched)(uses), uses };
}

/** The largest |a − b| over two arrays (0: equal as numbers, ±0 alike). */
const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, k) => Math.max(m, Math.abs(x - b[k]!)), 0);

describe('WebAssembly pair loop of the neighbour-list forces', () => {
  for (const [name, { V, hand, wasm }] of Object.entries(POTENTIALS)) {
    for (const [dim, box] of [[3, [9.1, 9.7, 10.3]], [2, [11, 12.5]], [1, [31]]] as const) {
      it(`${name}, ${dim}-D: ${wasm ? 'the WebAssembly loop is taken, equals the JS loop bit for bit' : 'the JS loop alone'} and the O(N²) oracle to 1e-12 over rebuilds`, () => {
        const cutoff = 2.5, n = dim === 3 ? 300 : dim === 2 ? 180 : 40;
        expect(neighbourGrid({ n, dim, box: [...box], cutoff, edges: null })).not.toBeNull();
        const withWasm = forceFunction(V, n, dim, [...box], cutoff, true), jsOnly = forceFunction(V, n, dim, [...box], cutoff, false);
        expect(withWasm.source.includes('.exports.pairs')).toBe(wasm);
        expect(jsOnly.source.includes('WebAssembly')).toBe(false);
        const { fn, uses } = counted(withWasm.source);
        // A jittered lattice (no two particles close) drifting by random steps: the list is rebuilt many times.
        const rng = seededRandom(11 + dim);
        const q = jitteredLattice(n, dim, Math.min(...box), 3).q0;
        const velocity = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
        let evaluations = 0;
        for (let s = 0; s < 24; s++) {
          const a = [new Float64Array(1), new Float64Array(n * dim)], b = [new Float64Array(1), new Float64Array(n * dim)];
          fn([q, [EPS], [SIG]], a);
          jsOnly([q, [EPS], [SIG]], b);
          evaluations++;
          expect(maxDifference(a[1]!, b[1]!)).toBe(0);
          expect(a[0]![0]).toBe(b[0]![0]);
          const ref = allPairsReference(q, n, dim, [...box], cutoff, hand);
          expect(relativeError(a[1]!, ref.G)).toBeLessThan(1e-12);
          for (let k = 0; k < q.length; k++) q[k] = q[k]! + 0.6 * SKIN_FRACTION * cutoff * velocity[k]!;
        }
        expect(uses.wasm).toBe(wasm ? evaluations : 0);
      });
    }
  }

  it('overlapping particles (r = 0, through the periodic image) still stop a run with NONFINITE naming the pair', async () => {
    const n = 64, dim = 2, box = [10, 10];
    const { q0, p0 } = jitteredLattice(n, dim, 10, 4);
    // Particle 9 on particle 30's periodic image.
    q0[9 * dim] = q0[30 * dim]! + box[0]!;
    q0[9 * dim + 1] = q0[30 * dim + 1]!;
    const sys = particles({ n, dim, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: EPS, sig: SIG }, cutoff: 2.5, shift: false } });
    expect(sys.overlaps(q0)).toEqual([9, 30]);
    const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.001, backend: 'cpu' });
    expect(st.source!.includes('.exports.pairs')).toBe(true);
    const refusal = await st.run({ q0, p0, steps: 3 }).then(() => undefined, (e: unknown) => e);
    st.dispose();
    expect(refusal).toBeInstanceOf(DarbouxError);
    expect((refusal as DarbouxError).code).toBe('NONFINITE');
    expect((refusal as DarbouxError).message).toMatch(/particles 9 and 30 overlap/);
  });

  it('threaded runs: 2 threads equal 1 to 1e-12 and the JS loop on 2 threads bit for bit, and repeat bit for bit', async () => {
    const n = 343, dim = 3, box = [9.0, 9.3, 10.1];
    const { q0, p0 } = jitteredLattice(n, dim, 9, 8);
    const run = pairLoopRunner({ n, dim, box, potential: POTENTIALS['Lennard-Jones (eps, sig)']!.V, params: { eps: EPS, sig: SIG } }, q0, p0);
    const one = await run(1, true), two = await run(2, true), again = await run(2, true), twoJs = await run(2, false);
    expect(relativeError(two.q, one.q)).toBeLessThan(1e-12);
    expect(relativeError(two.p, one.p)).toBeLessThan(1e-12);
    expect(maxDifference(two.q, again.q) + maxDifference(two.p, again.p)).toBe(0);
    expect(maxDifference(two.q, twoJs.q) + maxDifference(two.p, twoJs.p)).toBe(0);
    expect(maxDifference(one.q, q0)).toBeGreaterThan(SKIN_FRACTION * 2.5); // the list was rebuilt on the way
  }, 30_000);

  it('the module alone: a hand-made list (an odd one, a pair past the cutoff) against the sums written out; a parameter passed in', () => {
    // Slots (2-D): 0 (0, 0), 1 (1, 0), 2 (0, 2), 3 (0.5, 0.5); slot 0's partners 1, 2, 3 (odd: the dummy fills the
    // last lane), slot 1's 3 and 2 (r² = 5, past the cutoff r² = 4.5). Term: w·d with w = θ·r² − 1/r.
    const statements = parseStatements(['const w = ((th0 * r2) - (1 / r));']) as LineStatement[];
    const terms = ['w * d0', 'w * d1'].map((t) => parseLineExpr(t) as LineExpr);
    const m = pairLoopModule({ dim: 2, cutoff2: 4.5, d: ['d0', 'd1'], r2: 'r2', r: 'r', statements, terms });
    if ('reason' in m) throw new Error(m.reason);
    expect(m.free).toEqual(['th0']);
    const P = [0, 0, 1, 0, 0, 2, 0.5, 0.5], first = [0, 3, 5, 5, 5], partners = [1, 2, 3, 3, 2], theta = 0.7;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const f64 = new Float64Array(memory.buffer), i32 = new Int32Array(memory.buffer);
    const forces = 5 * 16, firstAt = 2 * forces, partnersAt = firstAt + 24;
    f64.set([...P, 100, 100]);
    i32.set(first, firstAt / 4);
    i32.set(partners, partnersAt / 4); // slot indices: the call scales them to byte offsets (dim 2: ×16) first
    const pairs = new WebAssembly.Instance(new WebAssembly.Module(m.bytes), { env: { mem: memory } }).exports.pairs as (...args: number[]) => void;
    pairs(0, 4, 0, forces, firstAt, partnersAt, 4 * 16, partnersAt + 4 * partners.length, theta);
    expect(Array.from(i32.subarray(partnersAt / 4, partnersAt / 4 + 5))).toEqual(partners.map((b) => 16 * b));
    const want = new Float64Array(8);
    for (let a = 0; a < 4; a++) {
      for (let e = first[a]!; e < first[a + 1]!; e++) {
        const b = partners[e]!;
        const d = [P[2 * a]! - P[2 * b]!, P[2 * a + 1]! - P[2 * b + 1]!], r2 = d[0]! ** 2 + d[1]! ** 2;
        if (r2 >= 4.5) continue;
        const w = theta * r2 - 1 / Math.sqrt(r2);
        for (let k = 0; k < 2; k++) {
          want[2 * a + k] += w * d[k]!;
          want[2 * b + k] -= w * d[k]!;
        }
      }
    }
    expect(relativeError(f64.slice(forces / 8, forces / 8 + 8), want)).toBeLessThan(1e-15);
    expect(Math.abs(want[5]!)).toBeGreaterThan(0.1); // slot 2 takes part (through slot 0 only: y)
  });

  it('reads parameters at literal indices as names only when asked; refuses what it does not translate', () => {
    expect(parseLineExpr('in1[0] * x', { elementReads: true })).toEqual({ kind: 'bin', op: '*', left: { kind: 'ref', name: 'in1[0]' }, right: { kind: 'ref', name: 'x' } });
    expect(parseLineExpr('in1[0] * x')).toHaveProperty('reason');
    expect(parseLineExpr('a3[i0]', { elementReads: true })).toHaveProperty('reason');
    const statements = parseStatements(['const s = Math.sign(r2);']) as LineStatement[];
    const terms = ['s * d0'].map((t) => parseLineExpr(t) as LineExpr);
    expect(pairLoopModule({ dim: 1, cutoff2: 1, d: ['d0'], r2: 'r2', r: 'r', statements, terms })).toEqual({ reason: 'Math.sign is not translated to the WebAssembly pair loop' });
  });
});
