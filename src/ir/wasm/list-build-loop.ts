/**
 * The per-row loop of the Verlet-list build (`emitBuild`, src/ir/ops/pair-list-build.ts) as one WebAssembly function
 * over an imported memory laid out at fixed byte offsets (`ListBuildLayout`): the row stencil of the current grid
 * row (for each stencil row its first cell and its reach; for each of its 3 pieces the slot offset and the image
 * shift), the bin-start prefix array, the runs of the current bin, the sites' wrapped coordinates, the CSR `first`
 * and the `partners`.
 *
 * `row(zLo, zHi, rowCell, m, start, first, partners, side, plane) → m`: for each bin z = zLo … zHi − 1 of the grid
 * row whose first cell is `rowCell`, its runs as `emitCellRuns` (pair-stencil.ts) makes them (each stencil row's
 * bins z − reach … z + reach, the zero row's from z, split into the pieces below the box, inside it and above it; a
 * run: begin, end, piece), room for every candidate (the memory grows as the JS `g` grows it: to max(need, twice its
 * size)), then for each site a of the bin first[a] = m and every candidate b of every run (run 0 from a + 1) written
 * as partners[m] = b + offset, m advanced when r² < (cutoff + skin)²: the JS loop's f64 operations in its order, so
 * the list is the same entry for entry. Two candidates per iteration in the f64x2 lanes, the last odd one scalar; or
 * all scalar (`lanes` 1); or four, then two, then one (`lanes` 4: no clear gain at 32 000 LJ atoms, −6 to +5 %
 * between runs, for ~340 more characters of runner source). `start` (the bin starts), `first` and `partners` are byte offsets, `side` the bins
 * along the last side, `plane` the bytes from one coordinate's plane to the next; returns the next entry.
 */
import { F64, f64x2Const, I32, i32Const, localGet, localSet, memarg, OP, oneFunctionModule, SIMD, simd, sleb, uleb, V128 } from './binary.js';

/** Byte offsets of the arrays of the build in the module's memory, and the constants of the loop. */
export interface ListBuildLayout {
  dim: number;
  /** The squared list radius (cutoff + skin)², as the JS build's literal. */
  radius2: number;
  /** Stencil rows R, bins along the last side. */
  rows: number; side: number;
  /** Row stencil: first cell and reach of each stencil row (i32, R each), piece offset (i32, 3R), piece shift (f64, 3R·dim). */
  rowCell: number; reach: number; pieceOffset: number; pieceShift: number;
  /** Runs of a bin: begin, end, piece (i32, 3R each). */
  runBegin: number; runEnd: number; runPiece: number;
  /**
   * Slot coordinates (f64, one plane per side: coordinate k of slot a at positions + k·plane + 8a, so that two
   * candidates' coordinates are one v128 load), bin starts (i32, cells + 1), `first` (i32 per slot), `partners` (i32,
   * to the end of memory).
   */
  positions: number; plane: number; start: number; first: number; partners: number;
}

/**
 * The layout for `sites` sites of dimension `dim`, a grid of `cells` bins with `side` along the last side and a half
 * stencil of `rows` rows: the row stencil and the runs first (their offsets depend on `dim` and `rows` only), then
 * the coordinates, the bin starts, `first`, and the partners (aligned to 8 bytes).
 *
 * @example
 * listBuildLayout({ dim: 3, sites: 32000, rows: 13, cells: 12167, side: 23, radius2: 7.84 }).partners // byte offset of partners[0]
 */
export function listBuildLayout(o: { dim: number; sites: number; rows: number; cells: number; side: number; radius2: number }): ListBuildLayout {
  const align = (x: number) => Math.ceil(x / 8) * 8;
  const R = o.rows, S = 3 * R;
  const pieceShift = 0, rowCell = 8 * o.dim * S, reach = rowCell + 4 * R, pieceOffset = reach + 4 * R;
  const runBegin = pieceOffset + 4 * S, runEnd = runBegin + 4 * S, runPiece = runEnd + 4 * S;
  const positions = align(runPiece + 4 * S);
  const start = positions + 8 * o.dim * o.sites;
  const first = start + 4 * (o.cells + 1);
  const partners = align(first + 4 * (o.sites + 1));
  return { dim: o.dim, radius2: o.radius2, rows: R, side: o.side, rowCell, reach, pieceOffset, pieceShift, start, runBegin, runEnd, runPiece, positions, plane: 8 * o.sites, first, partners };
}

const I32_AND = 0x71, I64X2_BITMASK = 0xc4, I32_STORE = 0x36, F64_CONST = 0x44, F64_LT = 0x63, I32_SHL = 0x74, I32_SHR_S = 0x75;
const I32_GT_S = 0x4a, I32_EQ = 0x46, I64 = 0x7e, I64_CONST = 0x42, I64_EXTEND_S = 0xac, I64_EXTEND_U = 0xad;
const I64_ADD = 0x7c, I64_SUB = 0x7d, I64_MUL = 0x7e, I64_SHL = 0x86, I64_SHR_U = 0x88, I64_GT_U = 0x56, I32_WRAP = 0xa7;
const MEMORY_SIZE = [0x3f, 0x00], MEMORY_GROW = [0x40, 0x00], UNREACHABLE = 0x00;
const load = (op: number, offset: number, align: number) => [op, align, ...uleb(offset)];
const f64Const = (v: number) => [F64_CONST, ...new Uint8Array(new Float64Array([v]).buffer)];

/**
 * The module of the row loop of `layout` (export `row`).
 *
 * @example
 * const layout = listBuildLayout({ dim: 3, sites: 32000, rows: 13, cells: 12167, side: 23, radius2: 7.84 });
 * new WebAssembly.Instance(new WebAssembly.Module(listBuildModule(layout)), { env: { mem } }).exports.row(0, 23, 0, 0, layout.start, layout.first, layout.partners, 23, layout.plane);
 */
export function listBuildModule(layout: ListBuildLayout, lanes: 1 | 2 | 4 = 2): Uint8Array<ArrayBuffer> {
  const { dim } = layout;
  const stride = 8 * dim;
  // Params 0 zLo, 1 zHi, 2 rowCell, 3 m, 4 start, 5 first, 6 partners (byte offsets), 7 side (bins along the last side), 8 plane:
  // they depend on the site count and the grid, kept out of the bytes so that the module is the same for every n and
  // box; i32 locals; i64 locals; f64 locals (xi, xs per side, d); v128.
  const [Z_LO, Z_HI, ROW_CELL, M, START, FIRST, PARTNERS, SIDE, PLANE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [a, s, b, bEnd, off, w, pb, bits, z, aEnd, count, cand, r, piece, rc, lo, hi, from, to] = Array.from({ length: 19 }, (_, k) => 9 + k);
  const plane = Array.from({ length: dim }, (_, k) => 28 + k); // k·PLANE: the byte offset of coordinate k's plane
  const [need, size] = [28 + dim, 29 + dim];
  const xi = Array.from({ length: dim }, (_, k) => 30 + dim + k), xs = xi.map((x) => x + dim), d = 30 + 3 * dim;
  const xsv = xs.map((x) => x + dim + 1), dv = d + dim + 1; // v128
  const code: number[] = [];
  const emit = (...parts: (number | number[])[]) => parts.forEach((p) => (typeof p === 'number' ? code.push(p) : code.push(...p)));
  const loopStart = (counter: number, end: number[]) => emit(OP.block, OP.void, OP.loop, OP.void, localGet(counter), end, OP.i32GeS, OP.brIf, 1);
  const loopEnd = (counter: number) => emit(localGet(counter), i32Const(1), OP.i32Add, localSet(counter), OP.br, 0, OP.end, OP.end);
  /** i32 element `index` (code) of the i32 array at byte offset `at` (plus the bin starts' offset where `starts`). */
  const i32At = (at: number, index: (number | number[])[], starts = false) =>
    [...index.flatMap((x) => (typeof x === 'number' ? [x] : x)), ...i32Const(4), OP.i32Mul, ...(starts ? [...localGet(START), OP.i32Add] : []), ...load(OP.i32Load, at, 2)];
  /** The byte address (without `positions`) of coordinate k of the slot whose plane-0 address is in local `at`. */
  const coordinateAt = (at: number, k: number) => (k === 0 ? localGet(at) : [...localGet(at), ...localGet(plane[k]!), OP.i32Add]);
  plane.forEach((x, k) => emit(localGet(PLANE), i32Const(k), OP.i32Mul, localSet(x)));
  emit(localGet(Z_LO), localSet(z));
  loopStart(z, localGet(Z_HI));
  emitRuns();
  // a … aEnd: the bin's sites; room for every candidate of each of them.
  emit(i32At(0, [localGet(ROW_CELL), localGet(z), OP.i32Add], true), localSet(a));
  emit(i32At(4, [localGet(ROW_CELL), localGet(z), OP.i32Add], true), localSet(aEnd));
  emitRoom();
  loopStart(a, localGet(aEnd));
  // first[a] = m; xi = P[a]; w = &partners[m]
  emit(localGet(a), i32Const(4), OP.i32Mul, localGet(FIRST), OP.i32Add, localGet(M), I32_STORE, 2, 0);
  emit(localGet(a), i32Const(8), OP.i32Mul, localSet(pb));
  xi.forEach((x, k) => emit(coordinateAt(pb, k), load(OP.f64Load, layout.positions, 3), localSet(x)));
  emit(localGet(M), i32Const(2), I32_SHL, localGet(PARTNERS), OP.i32Add, localSet(w));
  emit(i32Const(0), localSet(s));
  loopStart(s, localGet(count));
  // b = s === 0 ? a + 1 : begin[s]; bEnd = end[s]; piece = piece[s]; off = offset[piece]; xs = xi − shift[piece]
  emit(localGet(a), i32Const(1), OP.i32Add, i32At(layout.runBegin, [localGet(s)]), localGet(s), OP.i32Eqz, OP.select, localSet(b));
  emit(i32At(layout.runEnd, [localGet(s)]), localSet(bEnd));
  emit(i32At(layout.runPiece, [localGet(s)]), localSet(piece));
  emit(i32At(layout.pieceOffset, [localGet(piece)]), localSet(off));
  xs.forEach((x, k) => emit(localGet(xi[k]!), localGet(piece), i32Const(stride), OP.i32Mul, load(OP.f64Load, layout.pieceShift + 8 * k, 3), OP.f64Sub, localSet(x)));
  emit(localGet(b), i32Const(8), OP.i32Mul, localSet(pb));
  if (lanes > 1) xs.forEach((x, k) => emit(localGet(x), simd(SIMD.f64x2Splat), localSet(xsv[k]!)));
  if (lanes === 4) emitPairs(4);
  if (lanes > 1) emitPairs(2);
  loopStart(b, localGet(bEnd));
  // partners[m] = b + off; r² = (d₀² + d₁²) + d₂²; w += 4·(r² < R²)
  emit(localGet(w), localGet(b), localGet(off), OP.i32Add, I32_STORE, 2, 0);
  xs.forEach((x, k) => {
    emit(localGet(x), coordinateAt(pb, k), load(OP.f64Load, layout.positions, 3), OP.f64Sub, localSet(d), localGet(d), localGet(d), OP.f64Mul);
    if (k > 0) emit(OP.f64Add);
  });
  emit(f64Const(layout.radius2), F64_LT, i32Const(2), I32_SHL, localGet(w), OP.i32Add, localSet(w));
  emit(localGet(pb), i32Const(8), OP.i32Add, localSet(pb));
  loopEnd(b);
  loopEnd(s);
  emit(localGet(w), localGet(PARTNERS), OP.i32Sub, i32Const(2), I32_SHR_S, localSet(M));
  loopEnd(a);
  loopEnd(z);
  emit(localGet(M));
  return oneFunctionModule('row', [I32, I32, I32, I32, I32, I32, I32, I32, I32], [I32], [[19 + dim, I32], [2, I64], [2 * dim + 1, F64], [dim + 1, V128]], code);

  /**
   * The runs of bin z: for each stencil row r (first cell rc, bins lo = z − reach (the zero row: z) … hi = z + reach)
   * and piece 0 (below the box: from lo + side to side), 1 (inside: max(lo, 0) … min(hi, side)), 2 (above: 0 …
   * hi − side), the non-empty ones; count runs, cand candidates in all.
   */
  function emitRuns(): void {
    emit(i32Const(0), localSet(count), i32Const(0), localSet(cand), i32Const(0), localSet(r));
    loopStart(r, i32Const(layout.rows));
    emit(i32At(layout.rowCell, [localGet(r)]), localSet(rc));
    emit(localGet(z), i32At(layout.reach, [localGet(r)]), OP.i32Add, i32Const(1), OP.i32Add, localSet(hi));
    emit(localGet(z), i32At(layout.reach, [localGet(r)]), i32Const(0), localGet(r), OP.select, OP.i32Sub, localSet(lo));
    emit(i32Const(0), localSet(piece));
    loopStart(piece, i32Const(3));
    // from = piece === 0 ? lo + side : piece === 1 ? max(lo, 0) : 0; to = piece === 0 ? side : piece === 1 ? min(hi, side) : hi − side
    emit(localGet(lo), localGet(SIDE), OP.i32Add, localGet(lo), i32Const(0), localGet(lo), i32Const(0), I32_GT_S, OP.select, i32Const(0), localGet(piece), i32Const(1), I32_EQ, OP.select, localGet(piece), OP.i32Eqz, OP.select, localSet(from));
    emit(localGet(SIDE), localGet(hi), localGet(SIDE), localGet(hi), localGet(SIDE), OP.i32LtS, OP.select, localGet(hi), localGet(SIDE), OP.i32Sub, localGet(piece), i32Const(1), I32_EQ, OP.select, localGet(piece), OP.i32Eqz, OP.select, localSet(to));
    emit(localGet(from), localGet(to), OP.i32LtS, OP.if, OP.void);
    emit(i32At(0, [localGet(rc), localGet(from), OP.i32Add], true), localSet(b));
    emit(i32At(0, [localGet(rc), localGet(to), OP.i32Add], true), localSet(bEnd));
    const store = (at: number, value: number[]) => emit(localGet(count), i32Const(4), OP.i32Mul, value, I32_STORE, 2, ...uleb(at));
    store(layout.runBegin, localGet(b));
    store(layout.runEnd, localGet(bEnd));
    store(layout.runPiece, [...localGet(r), ...i32Const(3), OP.i32Mul, ...localGet(piece), OP.i32Add]);
    emit(localGet(cand), localGet(bEnd), localGet(b), OP.i32Sub, OP.i32Add, localSet(cand));
    emit(localGet(count), i32Const(1), OP.i32Add, localSet(count));
    emit(OP.end);
    loopEnd(piece);
    loopEnd(r);
  }

  /** Grows the memory (to max(need, twice its size), as the JS `g`) when need = partners + 4·(m + cand·(aEnd − a) + 1) bytes exceed it. */
  function emitRoom(): void {
    const i64Of = (local: number, op: number) => [...localGet(local), op];
    emit(i64Of(PARTNERS, I64_EXTEND_U), i64Of(M, I64_EXTEND_S), i64Of(cand, I64_EXTEND_S), localGet(aEnd), localGet(a), OP.i32Sub, I64_EXTEND_S, I64_MUL);
    emit(I64_ADD, I64_CONST, ...sleb(1), I64_ADD, I64_CONST, ...sleb(2), I64_SHL, I64_ADD, localSet(need));
    emit(MEMORY_SIZE, I64_EXTEND_U, I64_CONST, ...sleb(16), I64_SHL, localSet(size));
    emit(localGet(need), localGet(size), I64_GT_U, OP.if, OP.void);
    // pages = (max(need, 2·size) − size + 65535) >> 16
    emit(localGet(need), localGet(size), I64_CONST, ...sleb(1), I64_SHL, localGet(need), localGet(size), I64_CONST, ...sleb(1), I64_SHL, I64_GT_U, OP.select);
    emit(localGet(size), I64_SUB, I64_CONST, ...sleb(65535), I64_ADD, I64_CONST, ...sleb(16), I64_SHR_U, I32_WRAP, MEMORY_GROW, i32Const(0), OP.i32LtS, OP.if, OP.void, UNREACHABLE, OP.end);
    emit(OP.end);
  }

  /**
   * Candidates b … b + group − 1 (group 4: two f64x2 pairs, then group 2: one) while all are in the run: each pair in
   * the two f64x2 lanes, both written, w advanced by each lane's bit.
   */
  function emitPairs(group: 2 | 4): void {
    emit(OP.block, OP.void, OP.loop, OP.void, localGet(b), i32Const(group - 1), OP.i32Add, localGet(bEnd), OP.i32GeS, OP.brIf, 1);
    for (let j = 0; j < group; j += 2) {
      xsv.forEach((x, k) => {
        emit(localGet(x), coordinateAt(pb, k), simd(SIMD.load, ...memarg(layout.positions + 8 * j)), simd(SIMD.f64x2Sub));
        emit(localSet(dv), localGet(dv), localGet(dv), simd(SIMD.f64x2Mul));
        if (k > 0) emit(simd(SIMD.f64x2Add));
      });
      emit(f64x2Const(layout.radius2), simd(SIMD.f64x2Lt), simd(I64X2_BITMASK), localSet(bits));
      emit(localGet(w), localGet(b), i32Const(j), OP.i32Add, localGet(off), OP.i32Add, I32_STORE, 2, 0);
      emit(localGet(bits), i32Const(1), I32_AND, i32Const(2), I32_SHL, localGet(w), OP.i32Add, localSet(w));
      emit(localGet(w), localGet(b), i32Const(j + 1), OP.i32Add, localGet(off), OP.i32Add, I32_STORE, 2, 0);
      emit(localGet(bits), i32Const(2), I32_AND, i32Const(1), I32_SHL, localGet(w), OP.i32Add, localSet(w));
    }
    emit(localGet(b), i32Const(group), OP.i32Add, localSet(b), localGet(pb), i32Const(8 * group), OP.i32Add, localSet(pb), OP.br, 0, OP.end, OP.end);
  }
}
