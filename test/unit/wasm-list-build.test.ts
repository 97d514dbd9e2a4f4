/**
 * The WebAssembly candidate loop of the Verlet-list build (src/ir/wasm/list-build-loop.ts, src/ir/ops/pair-list-wasm.ts):
 * the module alone lists, on random runs of random coordinates, the same entries in the same order as a candidate
 * loop written here; the generated build takes it (and leaves it out when switched off), and the forces with it equal
 * those of the JS build bit for bit (the pair loops sum in list order) on 1-, 2- and 3-D boxes over rebuilds and
 * through a dense cluster that makes the partner memory grow mid-build (threaded builds: threaded-list-build.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { add, div, exp, input, mul, param } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { SKIN_FRACTION } from '../../src/ir/ops/pair-neighbours.js';
import { wasmListBuild } from '../../src/ir/ops/pair-list-wasm.js';
import { listBuildLayout, listBuildModule } from '../../src/ir/wasm/list-build-loop.js';
import { seededRandom } from './op-cases.js';
import { allPairsReference, jitteredLattice, relativeError } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
const EPS = 1.3, SIG = 0.8;
/** Soft and finite at r = 0 (dense clusters are fine): eps·exp(−r²/sig)·(1 + r). */
const softV = (r: Expr) => mul(mul(eps, exp(div(mul(-1, mul(r, r)), sig))), add(1, r));
const hand = { f: (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 + r), df: (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 - (2 * r * (1 + r)) / SIG) };

function forceFunction(n: number, box: number[], cutoff: number, wasm: boolean) {
  const dim = box.length;
  const q = input('q', 'q', [n * dim]);
  const E = pairSum(q, { n, dim, potential: softV, box, cutoff, shift: false });
  const [g] = gradient(E, [q]);
  wasmListBuild.enabled = wasm;
  try {
    return compileJs([q, eps, sig], [E, g!]);
  } finally {
    wasmListBuild.enabled = true;
  }
}

describe('WebAssembly candidate loop of the neighbour-list build', () => {
  for (const [dim, lanes] of [[1, 2], [2, 2], [3, 2], [3, 1]] as const) {
    it(`the module alone: the entries and order of a candidate loop written here (${dim}-D, ${lanes} lane${lanes > 1 ? 's' : ''}, random runs)`, () => {
      const rng = seededRandom(40 + dim);
      const sites = 50, runs = 7, radius2 = 0.3;
      const layout = listBuildLayout(dim, sites, runs, radius2);
      const mem = new WebAssembly.Memory({ initial: 4 });
      const sitesFn = new WebAssembly.Instance(new WebAssembly.Module(listBuildModule(layout, lanes)), { env: { mem } }).exports.sites as (...a: number[]) => number;
      const f = new Float64Array(mem.buffer), i = new Int32Array(mem.buffer);
      const P = Float64Array.from({ length: sites * dim }, () => rng());
      f.set(P, layout.positions / 8);
      const begin: number[] = [], end: number[] = [], offset: number[] = [], shift: number[] = [];
      for (let s = 0; s < runs; s++) {
        const b = Math.floor(rng() * sites), e = Math.min(sites, b + Math.floor(rng() * 20));
        begin.push(b); end.push(e); offset.push(s === 0 ? 0 : 1000 * s);
        for (let k = 0; k < dim; k++) shift.push(s === 0 ? 0 : rng() - 0.5);
      }
      i.set(begin, layout.runBegin / 4); i.set(end, layout.runEnd / 4); i.set(offset, layout.runOffset / 4); f.set(shift, layout.runShift / 8);
      const [aBegin, aEnd, m0] = [10, 30, 5];
      const m = sitesFn(aBegin, aEnd, runs, m0, layout.first, layout.partners);
      // The oracle: each site's partners, run by run (run 0 from the next site), kept when r² < radius².
      const want: number[] = [], wantFirst: number[] = [];
      for (let a = aBegin; a < aEnd; a++) {
        wantFirst.push(m0 + want.length);
        for (let s = 0; s < runs; s++) {
          for (let b = s === 0 ? a + 1 : begin[s]!; b < end[s]!; b++) {
            let r2 = 0;
            for (let k = 0; k < dim; k++) r2 += (P[a * dim + k]! - shift[s * dim + k]! - P[b * dim + k]!) ** 2;
            if (r2 < radius2) want.push(b + offset[s]!);
          }
        }
      }
      expect(want.length).toBeGreaterThan(20);
      expect(m).toBe(m0 + want.length);
      expect(Array.from(i.subarray(layout.partners / 4 + m0, layout.partners / 4 + m))).toEqual(want);
      expect(Array.from(i.subarray(layout.first / 4 + aBegin, layout.first / 4 + aEnd))).toEqual(wantFirst);
    });
  }

  for (const box of [[31], [11, 12.5], [9.1, 9.7, 10.3]]) {
    const dim = box.length;
    it(`${dim}-D: the build takes it, and its forces equal the JS build's bit for bit and the O(N²) oracle over rebuilds, a dense cluster included`, () => {
      const cutoff = 2.5, n = dim === 3 ? 300 : dim === 2 ? 180 : 40;
      const withWasm = compileWithCount(forceFunction(n, box, cutoff, true).source), jsOnly = forceFunction(n, box, cutoff, false);
      expect(jsOnly.source.includes('.exports.sites')).toBe(false);
      const rng = seededRandom(7 + dim);
      const q = jitteredLattice(n, dim, Math.min(...box), 5).q0;
      const velocity = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
      for (let s = 0; s < 20; s++) {
        if (s === 12) for (let k = 0; k < q.length; k++) q[k] = 0.3 * rng() - 0.15 + (k % dim === 0 ? box[0]! : 0); // all sites within 0.15 of a box corner
        const a = [new Float64Array(1), new Float64Array(n * dim)], b = [new Float64Array(1), new Float64Array(n * dim)];
        withWasm.fn([q, [EPS], [SIG]], a);
        jsOnly([q, [EPS], [SIG]], b);
        expect(Array.from(a[1]!)).toEqual(Array.from(b[1]!));
        expect(a[0]![0]).toBe(b[0]![0]);
        expect(relativeError(a[1]!, allPairsReference(q, n, dim, box, cutoff, hand).G)).toBeLessThan(1e-12);
        for (let k = 0; k < q.length; k++) q[k] = q[k]! + 0.6 * SKIN_FRACTION * cutoff * velocity[k]!;
      }
      expect(withWasm.calls.count).toBeGreaterThan(0);
    });
  }
});

/** The generated function of `source` with a counter of the calls of the module's `sites`. */
function compileWithCount(source: string): { fn: (inputs: ArrayLike<number>[], outputs: Float64Array[]) => void; calls: { count: number } } {
  const calls = { count: 0 };
  const sites = /const (\w+) = new WebAssembly\.Instance\([^\n]*\.exports\.sites/.exec(source)?.[1];
  expect(sites).toBeDefined();
  const patched = source.replace(new RegExp(`= ${sites}\\(`, 'g'), `= (__calls.count++, ${sites})(`);
  return { fn: new Function('__calls', patched)(calls), calls };
}
