/**
 * The WebAssembly row loop of the Verlet-list build (src/ir/wasm/list-build-loop.ts, src/ir/ops/pair-list-wasm.ts):
 * the module alone makes, on a random row stencil, bin starts and coordinates, the same runs and lists the same
 * entries in the same order as a row loop written here, growing its memory when the partners need room; the generated
 * build takes it (and leaves it out when switched off), and the forces with it equal those of the JS build bit for
 * bit (the pair loops sum in list order) on 1-, 2- and 3-D boxes over rebuilds and through a dense cluster that makes
 * the partner memory grow mid-build (threaded builds: threaded-list-build.test.ts).
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

describe('WebAssembly row loop of the neighbour-list build', () => {
  for (const [dim, lanes] of [[1, 2], [2, 2], [3, 2], [3, 1], [3, 4], [2, 4]] as const) {
    it(`the module alone: the runs, entries and order of a row loop written here (${dim}-D, ${lanes} lane${lanes > 1 ? 's' : ''}, random row stencil), growing its memory`, () => {
      const rng = seededRandom(40 + dim);
      const side = 7, gridRows = 4, cells = side * gridRows, R = dim === 1 ? 1 : 5, S = 3 * R, radius2 = 0.3;
      // Random bin counts (empty bins included), 0–4 sites a bin; random coordinates, stencil rows and pieces.
      const start = [0];
      for (let c = 0; c < cells; c++) start.push(start[c]! + Math.floor(rng() * 5));
      const sites = start[cells]!;
      const layout = listBuildLayout({ dim, sites, rows: R, cells, side, radius2 });
      const P = Float64Array.from({ length: sites * dim }, () => rng());
      const rowCell = Array.from({ length: R }, (_, r) => (r === 0 ? 2 : Math.floor(rng() * gridRows)) * side);
      const reach = Array.from({ length: R }, (_, r) => (r === 0 ? 2 : 1 + Math.floor(rng() * 2)));
      const pieceOffset = Array.from({ length: S }, (_, p) => (p === 1 ? 0 : 1000 * p));
      const pieceShift = Array.from({ length: S * dim }, (_, k) => (k < 2 * dim && k >= dim ? 0 : rng() - 0.5));
      // The partners at the very end of the memory: the module grows it.
      const mem = new WebAssembly.Memory({ initial: Math.ceil(layout.partners / 65536) });
      const partners = mem.buffer.byteLength - 16;
      const row = new WebAssembly.Instance(new WebAssembly.Module(listBuildModule(layout, lanes)), { env: { mem } }).exports.row as (...a: number[]) => number;
      const pages = mem.buffer.byteLength;
      let f = new Float64Array(mem.buffer), i = new Int32Array(mem.buffer);
      for (let k = 0; k < dim; k++) f.set(P.filter((_, j) => j % dim === k), (layout.positions + k * layout.plane) / 8); // one plane per side
      f.set(pieceShift, layout.pieceShift / 8);
      i.set(start, layout.start / 4); i.set(rowCell, layout.rowCell / 4); i.set(reach, layout.reach / 4); i.set(pieceOffset, layout.pieceOffset / 4);
      const [zLo, zHi, m0] = [0, side, 5];
      const m = row(zLo, zHi, 2 * side, m0, layout.start, layout.first, partners, side, layout.plane);
      expect(mem.buffer.byteLength).toBeGreaterThan(pages);
      f = new Float64Array(mem.buffer); i = new Int32Array(mem.buffer);
      // The oracle: each bin's runs (every stencil row's bins z − reach … z + reach, the zero row's from z, in the
      // pieces below, inside and above the row), then each site's partners run by run (run 0 from the next site).
      const want: number[] = [], wantFirst: number[] = [];
      for (let z = zLo; z < zHi; z++) {
        const runs: { b: number; e: number; p: number }[] = [];
        for (let r = 0; r < R; r++) {
          const lo = z - (r === 0 ? 0 : reach[r]!), hi = z + reach[r]! + 1;
          const pieces = [[lo + side, side], [Math.max(lo, 0), Math.min(hi, side)], [0, hi - side]];
          pieces.forEach(([from, to], w) => {
            if (from! < to!) runs.push({ b: start[rowCell[r]! + from!]!, e: start[rowCell[r]! + to!]!, p: 3 * r + w });
          });
        }
        for (let a = start[2 * side + z]!; a < start[2 * side + z + 1]!; a++) {
          wantFirst.push(m0 + want.length);
          runs.forEach(({ b: begin, e, p }, s) => {
            for (let b = s === 0 ? a + 1 : begin; b < e; b++) {
              let r2 = 0;
              for (let k = 0; k < dim; k++) r2 += (P[a * dim + k]! - pieceShift[p * dim + k]! - P[b * dim + k]!) ** 2;
              if (r2 < radius2) want.push(b + pieceOffset[p]!);
            }
          });
        }
      }
      expect(want.length).toBeGreaterThan(20);
      expect(m).toBe(m0 + want.length);
      expect(Array.from(i.subarray(partners / 4 + m0, partners / 4 + m))).toEqual(want);
      const a0 = start[2 * side]!;
      expect(Array.from(i.subarray(layout.first / 4 + a0, layout.first / 4 + a0 + wantFirst.length))).toEqual(wantFirst);
    });
  }

  for (const box of [[31], [11, 12.5], [9.1, 9.7, 10.3]]) {
    const dim = box.length;
    it(`${dim}-D: the build takes it, and its forces equal the JS build's bit for bit and the O(N²) oracle over rebuilds, a dense cluster included`, () => {
      const cutoff = 2.5, n = dim === 3 ? 300 : dim === 2 ? 180 : 40;
      const withWasm = compileWithCount(forceFunction(n, box, cutoff, true).source), jsOnly = forceFunction(n, box, cutoff, false);
      expect(jsOnly.source.includes('.exports.row')).toBe(false);
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
      // The cluster's partners grew the memory inside the module (1-D: 40 sites fit the first page).
      if (dim > 1) expect(withWasm.calls.grown).toBeGreaterThan(0);
    });
  }
});

/** The generated function of `source` with counters of the calls of the module's `row` and of the memory growths in them. */
function compileWithCount(source: string): { fn: (inputs: ArrayLike<number>[], outputs: Float64Array[]) => void; calls: { count: number; grown: number } } {
  const calls = { count: 0, grown: 0 };
  const row = /const (\w+) = new WebAssembly\.Instance\([^\n]*\.exports\.row/.exec(source)?.[1];
  expect(row).toBeDefined();
  const refresh = /if \((\w+)\.i\.buffer !== \w+\.m\.buffer\) \w+\.g\(0\)/;
  expect(refresh.test(source)).toBe(true);
  const patched = source
    .replace(new RegExp(`= ${row}\\(`, 'g'), `= (__calls.count++, ${row})(`)
    .replace(new RegExp(refresh.source, 'g'), (line) => line.replace(/\w+\.g\(0\)$/, (g) => `(__calls.grown++, ${g})`));
  return { fn: new Function('__calls', patched)(calls), calls };
}
