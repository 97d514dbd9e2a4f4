/**
 * The candidate loop of the Verlet-list build (`emitBuild`, src/ir/ops/pair-list-build.ts) as one WebAssembly
 * function (two candidates per iteration in the f64x2 lanes, the last odd one scalar; or all scalar: `lanes` 1) over an imported memory laid out at fixed byte offsets (`ListBuildLayout`): the runs of the
 * current bin (begin, end, slot offset: i32; image shift: f64 per side), the sites' wrapped coordinates, the CSR
 * `first` and the `partners`. For each site a of the bin it writes first[a] = m, then every candidate b of every run
 * (run 0 from a + 1) as partners[m] = b + offset, advancing m when r² < (cutoff + skin)²: the JS loop's f64
 * operations in its order, so the list is the same entry for entry.
 *
 * `sites(aBegin, aEnd, count, m, first, partners) → m`: sites aBegin … aEnd − 1 (slots, in cell order), `count`
 * runs, m the next entry, the byte offsets of `first` and `partners`; returns the next entry after them. The caller leaves room for every candidate.
 */
import { F64, f64x2Const, I32, i32Const, localGet, localSet, memarg, OP, oneFunctionModule, SIMD, simd, uleb, V128 } from './binary.js';

/** Byte offsets of the arrays of the build in the module's memory, and the constants of the loop. */
export interface ListBuildLayout {
  dim: number;
  /** The squared list radius (cutoff + skin)², as the JS build's literal. */
  radius2: number;
  /** Runs: begin, end, offset (i32, `runs` of each), shift (f64, runs·dim). */
  runBegin: number; runEnd: number; runOffset: number; runShift: number;
  /** Slot coordinates (f64, dim per slot), `first` (i32 per slot), `partners` (i32, to the end of memory). */
  positions: number; first: number; partners: number;
}

/**
 * The layout for `sites` sites of dimension `dim` and at most `runs` runs per bin: the runs first, then the
 * coordinates, `first`, and the partners (aligned to 8 bytes).
 *
 * @example
 * listBuildLayout(3, 32000, 39, 7.84).partners // byte offset of partners[0]
 */
export function listBuildLayout(dim: number, sites: number, runs: number, radius2: number): ListBuildLayout {
  const align = (x: number) => Math.ceil(x / 8) * 8;
  const runShift = align(12 * runs);
  const positions = align(runShift + 8 * dim * runs);
  const first = positions + 8 * dim * sites;
  const partners = align(first + 4 * (sites + 1));
  return { dim, radius2, runBegin: 0, runEnd: 4 * runs, runOffset: 8 * runs, runShift, positions, first, partners };
}

const I32_AND = 0x71, I64X2_BITMASK = 0xc4, I32_STORE = 0x36, F64_CONST = 0x44, F64_LT = 0x63, I32_SHL = 0x74, I32_SHR_S = 0x75;
const load = (op: number, offset: number, align: number) => [op, align, ...uleb(offset)];
const f64Const = (v: number) => [F64_CONST, ...new Uint8Array(new Float64Array([v]).buffer)];

/**
 * The module of the candidate loop of `layout` (export `sites`).
 *
 * @example
 * const bytes = listBuildModule(listBuildLayout(3, 32000, 39, 7.84));
 * new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem } }).exports.sites(a0, a1, count, m, first, partners);
 */
export function listBuildModule(layout: ListBuildLayout, lanes: 1 | 2 = 2): Uint8Array<ArrayBuffer> {
  const { dim } = layout;
  const stride = 8 * dim;
  // Params 0 aBegin, 1 aEnd, 2 count, 3 m, 4 first, 5 partners (byte offsets: they depend on the site count, kept out
  // of the bytes so that the module is the same for every n); i32 locals; f64 locals (xi, xs per side, d).
  const [A_BEGIN, A_END, COUNT, M, FIRST, PARTNERS] = [0, 1, 2, 3, 4, 5];
  const [a, s, b, bEnd, off, w, pb, bits] = [6, 7, 8, 9, 10, 11, 12, 13];
  const xi = Array.from({ length: dim }, (_, k) => 14 + k), xs = xi.map((x) => x + dim), d = 14 + 2 * dim;
  const xsv = xs.map((x) => x + dim + 1), dv = d + dim + 1; // v128
  const code: number[] = [];
  const emit = (...parts: (number | number[])[]) => parts.forEach((p) => (typeof p === 'number' ? code.push(p) : code.push(...p)));
  const loopStart = (counter: number, end: number) => emit(OP.block, OP.void, OP.loop, OP.void, localGet(counter), localGet(end), OP.i32GeS, OP.brIf, 1);
  const loopEnd = (counter: number) => emit(localGet(counter), i32Const(1), OP.i32Add, localSet(counter), OP.br, 0, OP.end, OP.end);
  emit(localGet(A_BEGIN), localSet(a));
  loopStart(a, A_END);
  // first[a] = m; xi = P[a]; w = &partners[m]
  emit(localGet(a), i32Const(4), OP.i32Mul, localGet(FIRST), OP.i32Add, localGet(M), I32_STORE, 2, 0);
  xi.forEach((x, k) => emit(localGet(a), i32Const(stride), OP.i32Mul, load(OP.f64Load, layout.positions + 8 * k, 3), localSet(x)));
  emit(localGet(M), i32Const(2), I32_SHL, localGet(PARTNERS), OP.i32Add, localSet(w));
  emit(i32Const(0), localSet(s));
  loopStart(s, COUNT);
  // b = s === 0 ? a + 1 : begin[s]; bEnd = end[s]; off = offset[s]; xs = xi − shift[s]
  emit(localGet(a), i32Const(1), OP.i32Add, localGet(s), i32Const(4), OP.i32Mul, load(OP.i32Load, layout.runBegin, 2), localGet(s), OP.i32Eqz, OP.select, localSet(b));
  emit(localGet(s), i32Const(4), OP.i32Mul, load(OP.i32Load, layout.runEnd, 2), localSet(bEnd));
  emit(localGet(s), i32Const(4), OP.i32Mul, load(OP.i32Load, layout.runOffset, 2), localSet(off));
  xs.forEach((x, k) => emit(localGet(xi[k]!), localGet(s), i32Const(stride), OP.i32Mul, load(OP.f64Load, layout.runShift + 8 * k, 3), OP.f64Sub, localSet(x)));
  emit(localGet(b), i32Const(stride), OP.i32Mul, localSet(pb));
  if (lanes === 2) emitPairs();
  loopStart(b, bEnd);
  // partners[m] = b + off; r² = (d₀² + d₁²) + d₂²; w += 4·(r² < R²)
  emit(localGet(w), localGet(b), localGet(off), OP.i32Add, I32_STORE, 2, 0);
  xs.forEach((x, k) => {
    emit(localGet(x), localGet(pb), load(OP.f64Load, layout.positions + 8 * k, 3), OP.f64Sub, localSet(d), localGet(d), localGet(d), OP.f64Mul);
    if (k > 0) emit(OP.f64Add);
  });
  emit(f64Const(layout.radius2), F64_LT, i32Const(2), I32_SHL, localGet(w), OP.i32Add, localSet(w));
  emit(localGet(pb), i32Const(stride), OP.i32Add, localSet(pb));
  loopEnd(b);
  loopEnd(s);
  emit(localGet(w), localGet(PARTNERS), OP.i32Sub, i32Const(2), I32_SHR_S, localSet(M));
  loopEnd(a);
  emit(localGet(M));
  return oneFunctionModule('sites', [I32, I32, I32, I32, I32, I32], [I32], [[8, I32], [2 * dim + 1, F64], [dim + 1, V128]], code);

  /** Candidates b and b + 1 in the two f64x2 lanes while both are in the run: both written, w advanced by each lane's bit. */
  function emitPairs(): void {
    xs.forEach((x, k) => emit(localGet(x), simd(SIMD.f64x2Splat), localSet(xsv[k]!)));
    emit(OP.block, OP.void, OP.loop, OP.void, localGet(b), i32Const(1), OP.i32Add, localGet(bEnd), OP.i32GeS, OP.brIf, 1);
    xsv.forEach((x, k) => {
      const at = layout.positions + 8 * k;
      emit(localGet(x), localGet(pb), localGet(pb), simd(SIMD.load64Zero, ...memarg(at)), simd(SIMD.load64Lane, ...memarg(at + stride), 1), simd(SIMD.f64x2Sub));
      emit(localSet(dv), localGet(dv), localGet(dv), simd(SIMD.f64x2Mul));
      if (k > 0) emit(simd(SIMD.f64x2Add));
    });
    emit(f64x2Const(layout.radius2), simd(SIMD.f64x2Lt), simd(I64X2_BITMASK), localSet(bits));
    emit(localGet(w), localGet(b), localGet(off), OP.i32Add, I32_STORE, 2, 0);
    emit(localGet(bits), i32Const(1), I32_AND, i32Const(2), I32_SHL, localGet(w), OP.i32Add, localSet(w));
    emit(localGet(w), localGet(b), i32Const(1), OP.i32Add, localGet(off), OP.i32Add, I32_STORE, 2, 0);
    emit(localGet(bits), i32Const(2), I32_AND, i32Const(1), I32_SHL, localGet(w), OP.i32Add, localSet(w));
    emit(localGet(b), i32Const(2), OP.i32Add, localSet(b), localGet(pb), i32Const(2 * stride), OP.i32Add, localSet(pb), OP.br, 0, OP.end, OP.end);
  }
}
