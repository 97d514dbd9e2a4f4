/**
 * The half-list pair loop of the neighbour-list forces (`emitNeighbourSlotSums`, src/ir/ops/pair-neighbours.ts) as
 * one WebAssembly SIMD function: two list entries per iteration in the two f64x2 lanes (the partners'
 * coordinates gathered lane by lane), the cutoff as a mask on the terms instead of a branch, then Newton's third
 * law lane by lane. The pair body is the JS lowering's own statements read back (`straight-line.ts`), so each
 * pair's term is the same f64 operations as in the JS loop; the lanes are then added to the site's sums and
 * subtracted from the partners' in the JS loop's order (entry e before entry e + 1). The result equals the JS
 * loop's bit for bit (up to the sign of a zero sum).
 *
 * `pairs(aBegin, aEnd, pOff, fOff, firstOff, partnersOff, dummy, scaleEnd, θ…)` visits slots aBegin … aEnd − 1 of
 * a list laid out in memory at byte offsets: slot coordinates `P` (slot b at pOff + 8·dim·b), slot sums `F` (at fOff,
 * the same layout: the caller zeroes them), the CSR `first` (i32, slot a's entries first[a] … first[a + 1]) and
 * `partners` (i32 byte offsets 8·dim·b of the partner slots b, not their indices: no multiply per entry; readable
 * one entry past the last). A slot with an odd number of entries takes `dummy` (the byte offset of a slot the
 * caller places far from every other, so its lane is masked, with sums of its own) in its last lane. A list just
 * copied in holds indices: `scaleEnd` > partnersOff first scales the partners up to byte scaleEnd in place, 4 a
 * pass (i32x4; up to 3 entries past scaleEnd with them), else 0.
 */
import { exprRefs, type ExactMathFunction, type LineExpr, type LineStatement } from './straight-line.js';
import { F64, f64x2Const, I32, i32Const, localGet, localSet, memarg, OP, oneFunctionModule, SIMD, simd, V128 } from './binary.js';

/** What the pair body reads and computes, as straight-line code over named f64 values. */
export interface PairLoopBody {
  dim: number;
  /** The squared cutoff: terms of pairs with r² ≥ cutoff² (or r² NaN) are zero. */
  cutoff2: number;
  /** Names the body reads for the components of d = x_i − x_j, for r² and for r. */
  d: readonly string[];
  r2: string;
  r: string;
  /** The body's statements and the per-component terms (expressions over the body's names). */
  statements: readonly LineStatement[];
  terms: readonly LineExpr[];
  /** Entry pairs per pass of the inner loop (default `PAIR_LOOP_UNROLL`; the sums are the same whatever it is). */
  unroll?: number;
}

/** The module of a pair loop and the free names its body reads (passed as the f64 arguments θ, in this order). */
export interface PairLoopModule {
  bytes: Uint8Array<ArrayBuffer>;
  free: string[];
}

/** Argument indices of `pairs` (the θ follow). */
const A_BEGIN = 0, A_END = 1, P_OFF = 2, F_OFF = 3, FIRST_OFF = 4, PARTNERS_OFF = 5, DUMMY = 6, SCALE_END = 7, THETA = 8;
/** The i32 scratch locals of `pairs` (after the arguments): slot, entry address, the slot's end, the partners' byte offsets, two addresses. */
const I32_LOCALS = ['a', 'e', 'eEnd', 'b0', 'b1', 'p0', 'p1'] as const;
/** i32 opcodes only this loop uses: shift left, unsigned comparisons (addresses). */
const I32_SHL = 0x74, I32_LT_U = 0x49, I32_GE_U = 0x4f;
/** SIMD opcodes only this loop uses (the scaling of the partners). */
const I32X4_SPLAT = 0x11, I32X4_MUL = 0xb5;
/** Entry pairs per pass of the inner loop by default (the body written out that many times, a test between). */
export const PAIR_LOOP_UNROLL = 4;
const BINARY_OPS = { '+': SIMD.f64x2Add, '-': SIMD.f64x2Sub, '*': SIMD.f64x2Mul, '/': SIMD.f64x2Div } as const;
const CALL_OPS: Partial<Record<ExactMathFunction, number>> = {
  sqrt: SIMD.f64x2Sqrt, abs: SIMD.f64x2Abs, floor: SIMD.f64x2Floor, ceil: SIMD.f64x2Ceil, trunc: SIMD.f64x2Trunc, min: SIMD.f64x2Min, max: SIMD.f64x2Max,
};

/**
 * The module of the pair loop for `body`, or why there is none (a construct the translation lacks: `Math.sign`).
 * Statements no term needs (a square root the body never reads) are left out.
 *
 * @example
 * const m = pairLoopModule({ dim: 3, cutoff2: 6.25, d: ['dx', 'dy', 'dz'], r2: 'r2', r: 'r', statements: [], terms: [dx, dy, dz].map(…) });
 * if (!('reason' in m)) new WebAssembly.Module(m.bytes);
 */
export function pairLoopModule(body: PairLoopBody): PairLoopModule | { reason: string } {
  const statements = liveStatements(body.statements, body.terms);
  const inputs = new Set([...body.d, body.r2, body.r]);
  // Free names: read before any statement assigns them (parameters), in order of first reading.
  const assigned = new Set<string>();
  const free = new Set<string>();
  const read = (e: LineExpr) => exprRefs(e).forEach((name) => (inputs.has(name) || assigned.has(name) ? undefined : free.add(name)));
  for (const st of statements) {
    read(st.expr);
    assigned.add(st.name);
  }
  body.terms.forEach(read);
  const f = new PairFunction(body, [...free]);
  const code = f.code(statements);
  if (typeof code === 'string') return { reason: code };
  const params = [...Array.from({ length: THETA }, () => I32), ...[...free].map(() => F64)];
  return { bytes: oneFunctionModule('pairs', params, [], f.locals(), code), free: [...free] };
}

/** The statements some term needs, in order (a backward liveness pass; reassigned names handled in order). */
function liveStatements(statements: readonly LineStatement[], terms: readonly LineExpr[]): LineStatement[] {
  const needed = new Set(terms.flatMap((t) => exprRefs(t)));
  const kept: LineStatement[] = [];
  for (let k = statements.length - 1; k >= 0; k--) {
    const st = statements[k]!;
    if (!needed.has(st.name)) continue;
    kept.push(st);
    needed.delete(st.name);
    for (const r of exprRefs(st.expr)) needed.add(r);
  }
  return kept.reverse();
}

/** Emission state of `pairs`: named v128 locals after the i32 scratch locals. */
class PairFunction {
  private readonly v128 = new Map<string, number>();
  private readonly bytes: number[] = [];
  private vectors = 0;
  /** The body's literals, each splatted once into a local before the loops (by the bytes of its v128.const). */
  private readonly constants = new Map<string, { id: number; bytes: number[] }>();
  private readonly i32: Record<(typeof I32_LOCALS)[number], number>;

  constructor(private readonly body: PairLoopBody, private readonly free: readonly string[]) {
    const first = THETA + free.length;
    this.i32 = Object.fromEntries(I32_LOCALS.map((name, k) => [name, first + k])) as PairFunction['i32'];
  }

  /** A v128 local for `name` (a fresh one each call: a name assigned twice gets a new local from then on). */
  private vector(name: string): number {
    const id = THETA + this.free.length + I32_LOCALS.length + this.vectors++;
    this.v128.set(name, id);
    return id;
  }

  /** The locals declaration: runs of [count, type]. */
  locals(): [number, number][] {
    return [[I32_LOCALS.length, I32], [this.vectors, V128]];
  }

  private emit(...bytes: number[][]): void {
    for (const b of bytes) for (const x of b) this.bytes.push(x);
  }

  /** `local = base + stride · index` (i32). */
  private address(local: number, index: number, stride: number, base: number): void {
    this.emit(localGet(index), i32Const(stride), [OP.i32Mul], localGet(base), [OP.i32Add], localSet(local));
  }

  /** The function body (without the final `end`), or the reason it cannot be written. */
  code(statements: readonly LineStatement[]): number[] | string {
    const { dim } = this.body;
    const { a, e, eEnd, p0, p1 } = this.i32;
    const stride = 8 * dim;
    // for (e = partnersOff; e < scaleEnd; e += 16) partners[e … e + 16] *= 8·dim
    this.emit(localGet(PARTNERS_OFF), localSet(e), [OP.block, OP.void, OP.loop, OP.void], localGet(e), localGet(SCALE_END), [I32_GE_U, OP.brIf, 1]);
    this.emit(localGet(e), localGet(e), simd(SIMD.load, ...memarg(0, 0)), i32Const(stride), simd(I32X4_SPLAT), simd(I32X4_MUL), simd(SIMD.store, ...memarg(0, 0)));
    this.emit(localGet(e), i32Const(16), [OP.i32Add], localSet(e), [OP.br, 0, OP.end, OP.end]);
    this.free.forEach((name, k) => this.emit(localGet(THETA + k), simd(SIMD.f64x2Splat), localSet(this.vector(name))));
    const xi = Array.from({ length: dim }, (_, k) => this.vector(` xi${k}`));
    const own = Array.from({ length: dim }, (_, k) => this.vector(` own${k}`));
    const cutoff2 = this.vector(' cutoff2');
    this.emit(f64x2Const(this.body.cutoff2), localSet(cutoff2));
    // for (a = aBegin; a < aEnd; a++)
    this.emit(localGet(A_BEGIN), localSet(a), [OP.block, OP.void, OP.loop, OP.void], localGet(a), localGet(A_END), [OP.i32GeS, OP.brIf, 1]);
    this.address(p0, a, stride, P_OFF);
    xi.forEach((id, k) => this.emit(localGet(p0), [OP.f64Load, ...memarg(8 * k)], simd(SIMD.f64x2Splat), localSet(id)));
    own.forEach((id) => this.emit(f64x2Const(0), localSet(id)));
    this.address(p1, a, 4, FIRST_OFF);
    // e, eEnd: the addresses of entries first[a] and first[a + 1] in partners.
    for (const [at, local] of [[0, e], [4, eEnd]] as const) {
      this.emit(localGet(p1), [OP.i32Load, ...memarg(at, 2)], i32Const(2), [I32_SHL], localGet(PARTNERS_OFF), [OP.i32Add], localSet(local));
    }
    // for (; e < eEnd; e += 2 entries)
    this.emit([OP.block, OP.void, OP.loop, OP.void], localGet(e), localGet(eEnd), [I32_GE_U, OP.brIf, 1]);
    for (let copy = 0; copy < (this.body.unroll ?? PAIR_LOOP_UNROLL); copy++) {
      if (copy > 0) this.emit(localGet(e), localGet(eEnd), [I32_GE_U, OP.brIf, 1]);
      const failed = this.entryPair(xi, own, cutoff2, statements);
      if (failed !== null) return failed;
      this.emit(localGet(e), i32Const(8), [OP.i32Add], localSet(e));
    }
    this.emit([OP.br, 0, OP.end, OP.end]);
    // F[a] += own lane 0 + own lane 1
    this.address(p0, a, stride, F_OFF);
    own.forEach((id, k) => this.emit(localGet(p0), localGet(p0), [OP.f64Load, ...memarg(8 * k)], localGet(id), simd(SIMD.f64x2ExtractLane, 0), localGet(id), simd(SIMD.f64x2ExtractLane, 1), [OP.f64Add, OP.f64Add, OP.f64Store, ...memarg(8 * k)]));
    this.emit(localGet(a), i32Const(1), [OP.i32Add], localSet(a), [OP.br, 0, OP.end, OP.end]);
    // The literals' locals, set before everything else (the engine need not hoist a v128.const out of the loop).
    const prologue = [...this.constants.values()].flatMap((c) => [...c.bytes, ...localSet(c.id)]);
    return [...prologue, ...this.bytes];
  }

  /** A local holding the f64x2 splat of `value` (the same bits: -0 and NaN payloads kept). */
  private constant(value: number): number[] {
    const bytes = f64x2Const(value);
    const key = bytes.join(',');
    let c = this.constants.get(key);
    if (c === undefined) this.constants.set(key, (c = { id: this.vector(` const${this.constants.size}`), bytes }));
    return localGet(c.id);
  }

  /** Entries e and e + 1 of slot a (the dummy in lane 1 past the slot's last): their terms added and scattered. */
  private entryPair(xi: readonly number[], own: readonly number[], cutoff2: number, statements: readonly LineStatement[]): string | null {
    const { e, eEnd, b0, b1, p0, p1 } = this.i32;
    // Lane 0: entry e; lane 1: entry e + 1 when it is this slot's, else the dummy slot.
    this.emit(localGet(e), [OP.i32Load, ...memarg(0, 2)], localSet(b0));
    this.emit(localGet(e), [OP.i32Load, ...memarg(4, 2)], localGet(DUMMY), localGet(e), i32Const(4), [OP.i32Add], localGet(eEnd), [I32_LT_U, OP.select], localSet(b1));
    this.emit(localGet(b0), localGet(P_OFF), [OP.i32Add], localSet(p0), localGet(b1), localGet(P_OFF), [OP.i32Add], localSet(p1));
    this.body.d.forEach((name, k) => {
      this.emit(localGet(xi[k]!), localGet(p1), localGet(p0), simd(SIMD.load64Zero, ...memarg(8 * k)), simd(SIMD.load64Lane, ...memarg(8 * k), 1), simd(SIMD.f64x2Sub), localSet(this.vector(name)));
    });
    // r² as the JS loop sums it (d₀² + d₁²) + d₂², and the cutoff as a mask.
    const square = (name: string) => [...localGet(this.v128.get(name)!), ...localGet(this.v128.get(name)!), ...simd(SIMD.f64x2Mul)];
    this.body.d.forEach((name, k) => this.emit(square(name), k > 0 ? simd(SIMD.f64x2Add) : []));
    const r2 = this.vector(this.body.r2);
    this.emit(localSet(r2));
    const mask = this.vector(' mask');
    this.emit(localGet(r2), localGet(cutoff2), simd(SIMD.f64x2Lt), localSet(mask));
    if ([...statements.map((s) => s.expr), ...this.body.terms].some((x) => exprRefs(x).includes(this.body.r))) {
      this.emit(localGet(r2), simd(SIMD.f64x2Sqrt), localSet(this.vector(this.body.r)));
    }
    for (const st of statements) {
      const value = this.expr(st.expr);
      if (typeof value === 'string') return value;
      this.emit(value, localSet(this.vector(st.name)));
    }
    return this.scatter(own, mask);
  }

  /** Per component: the masked term added to the slot's lane sums and subtracted from both partners' sums (lane 0, then 1). */
  private scatter(own: readonly number[], mask: number): string | null {
    const { b0, b1, p0, p1 } = this.i32;
    this.emit(localGet(b0), localGet(F_OFF), [OP.i32Add], localSet(p0), localGet(b1), localGet(F_OFF), [OP.i32Add], localSet(p1));
    for (let k = 0; k < this.body.dim; k++) {
      const term = this.expr(this.body.terms[k]!);
      if (typeof term === 'string') return term;
      const t = this.vector(` term${k}`);
      this.emit(term, localGet(mask), simd(SIMD.v128And), localSet(t));
      this.emit(localGet(own[k]!), localGet(t), simd(SIMD.f64x2Add), localSet(own[k]!));
      for (const lane of [0, 1]) {
        const at = lane === 0 ? p0 : p1;
        this.emit(localGet(at), localGet(at), [OP.f64Load, ...memarg(8 * k)], localGet(t), simd(SIMD.f64x2ExtractLane, lane), [OP.f64Sub, OP.f64Store, ...memarg(8 * k)]);
      }
    }
    return null;
  }

  /** The bytes of one expression (constant subexpressions folded: the same f64 operations, done once here). */
  private expr(e: LineExpr): number[] | string {
    const folded = fold(e);
    if (folded !== null) return this.constant(folded);
    switch (e.kind) {
      case 'num':
        return this.constant(e.value);
      case 'ref': {
        const id = this.v128.get(e.name);
        return id === undefined ? `the pair body reads '${e.name}', which is not a value of the pair` : localGet(id);
      }
      case 'neg': {
        const a = this.expr(e.arg);
        return typeof a === 'string' ? a : [...a, ...simd(SIMD.f64x2Neg)];
      }
      case 'bin': {
        // x·1 = 1·x = x/1 = x exactly in IEEE 754 (the lowering leaves such factors from parameters set to 1).
        if ((e.op === '*' || e.op === '/') && fold(e.right) === 1) return this.expr(e.left);
        if (e.op === '*' && fold(e.left) === 1) return this.expr(e.right);
        const a = this.expr(e.left), b = this.expr(e.right);
        if (typeof a === 'string') return a;
        if (typeof b === 'string') return b;
        return [...a, ...b, ...simd(BINARY_OPS[e.op])];
      }
      case 'call': {
        const op = CALL_OPS[e.fn];
        if (op === undefined) return `Math.${e.fn} is not translated to the WebAssembly pair loop`;
        const out: number[] = [];
        for (let k = 0; k < e.args.length; k++) {
          const a = this.expr(e.args[k]!);
          if (typeof a === 'string') return a;
          out.push(...a);
          if (k > 0 || e.args.length === 1) out.push(...simd(op)); // Math.max(a, b, c) = max(max(a, b), c)
        }
        return out;
      }
    }
  }
}

/** The value of an expression of literals alone (computed in f64 as the JS engine would), else null. */
function fold(e: LineExpr): number | null {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'neg') {
    const a = fold(e.arg);
    return a === null ? null : -a;
  }
  if (e.kind === 'bin') {
    const a = fold(e.left), b = fold(e.right);
    if (a === null || b === null) return null;
    return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
  }
  return null;
}
