/**
 * The step of an explicit program as a WebAssembly SIMD function that advances a block of trajectories at once:
 * f64x2 vectors, `lanes / 2` of them per value (interleaved, so that independent trajectories fill the pipeline),
 * the state in structure-of-arrays form in linear memory. The step is the JS runner's own lowering
 * (`jsRunnerParts`) read back as straight-line code (`straight-line.ts`), so every lane evaluates the same f64
 * operations in the same order as the JS runner: results are equal bit for bit. Programs whose step is not
 * straight-line exact f64 code (implicit solves, loops and scratch arrays, Math functions WebAssembly lacks such
 * as sin or exp) are refused with the reason.
 *
 * The function `run(s, sEnd, dt, tStart, firstTime, θ…) → i32` reads the block's state from memory at 0
 * (value v of the 2·dof values q₀ … p_{dof−1}, lane l at f64 index v·lanes + l), evaluates the carried values at
 * `firstTime`, runs steps s … sEnd − 1, and stores the state back. It returns −1, or the first step at which a
 * lane's new state was not finite (the JS runner's test: the sum of the new values is not finite); the stored
 * state is then the one before that step, for every lane.
 */
import type { StepProgram } from '../integrators/step-program.js';
import type { FixedPointSettings } from './step-body.js';
import { jsRunnerParts } from './emit-js-stepper.js';
import { JS_KERNEL_INDENT } from './js-kernel.js';
import { elementOf } from './values.js';
import { exprRefs, parseLineExpr, parseStatements, type ExactMathFunction, type LineExpr, type LineStatement, type NotStraightLine } from './straight-line.js';
import { F64, f64x2Const, I32, i32Const, localGet, localSet, memarg, OP, oneFunctionModule, SIMD, simd, V128 } from './wasm-binary.js';

/** The module of a program's lane runner and what its host glue needs to call it. */
export interface WasmStepperModule {
  bytes: Uint8Array<ArrayBuffer>;
  lanes: number;
  dof: number;
  /** Indices k of the scalar parameters passed as arguments θ (read as `params[k][0]`), in argument order. */
  scalarParams: number[];
}

const BINARY_OPS = { '+': SIMD.f64x2Add, '-': SIMD.f64x2Sub, '*': SIMD.f64x2Mul, '/': SIMD.f64x2Div } as const;
const CALL_OPS: Record<ExactMathFunction, number> = {
  sign: -1, // by selects: see StepFunction.sign
  sqrt: SIMD.f64x2Sqrt, abs: SIMD.f64x2Abs, floor: SIMD.f64x2Floor, ceil: SIMD.f64x2Ceil, trunc: SIMD.f64x2Trunc,
  min: SIMD.f64x2Min, max: SIMD.f64x2Max,
} as const;

/** Argument indices of `run`. */
const S = 0, S_END = 1, DT = 2, T_START = 3, FIRST_TIME = 4, THETA = 5;

/**
 * The lane runner's module for `program` (explicit, straight-line step over at most 64 scalar registers), or why
 * there is none. `lanes` is 2, 4 or 8 (one to four f64x2 vectors per value; 'auto': `lanesFor` the step's live
 * values); `unrollLimit` must be the JS runner's.
 *
 * @example
 * const m = wasmStepperModule(leapfrogStep(h), JS_FIXED_POINT, undefined, 4);
 * if (!('reason' in m)) new WebAssembly.Module(m.bytes);
 */
export function wasmStepperModule(program: StepProgram, settings: FixedPointSettings, unrollLimit: number | undefined, lanes: number | 'auto' = 'auto'): WasmStepperModule | NotStraightLine {
  if (program.implicit) return { reason: `${program.method} is implicit (a fixed-point solve per step)` };
  const parts = jsRunnerParts(program, settings, unrollLimit);
  const n = program.system.dof;
  if (parts.q.kind !== 'unrolled' || parts.p.kind !== 'unrolled') return { reason: `the state (${n} degrees of freedom) is held in arrays` };
  if (parts.lowering.hoisted.length > 0) return { reason: `the step uses scratch arrays or loops (${parts.lowering.hoisted[0]!.trim().slice(0, 60)})` };
  const scalarParams: number[] = [];
  for (const line of parts.prologue) {
    const m = /const th(\d+) = params\[(\d+)\]\[0\];/.exec(line);
    if (m !== null) scalarParams.push(Number(m[2]));
  }
  const blocks = [parts.invariantLines, parts.carries.preLoop, parts.lowering.lines, parts.carries.assign(parts.extra, JS_KERNEL_INDENT.step)].map((lines) => parseStatements(lines));
  for (const b of blocks) if ('reason' in b) return b;
  const [invariants, preLoop, body, assign] = blocks as LineStatement[][];
  const next: LineExpr[] = [];
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < n; i++) {
      const e = parseLineExpr(elementOf(parts.next[k]!, i));
      if ('reason' in e) return e;
      next.push(e);
    }
  }
  if (lanes === 'auto') lanes = lanesFor(livePeak([...body!, ...next.map((expr, v) => ({ name: ` next${v}`, declare: true, expr })), ...assign!], [...parts.q.elems, ...parts.p.elems, ...assign!.map((st) => st.name)]));
  const f = new StepFunction(lanes / 2, scalarParams, parts.q.elems, parts.p.elems, parts.usesTime);
  const code = f.body(invariants!, preLoop!, body!, assign!, next);
  if (typeof code === 'string') return { reason: code };
  const params = [I32, I32, F64, F64, F64, ...scalarParams.map(() => F64)];
  return { bytes: oneFunctionModule('run', params, [I32], [[f.localCount, V128]], code), lanes, dof: n, scalarParams };
}

/** Emission state of `run`: the v128 locals of every name (one for uniform values, one per vector otherwise). */
class StepFunction {
  private readonly locals = new Map<string, number[]>();
  private nextLocal: number;
  private readonly code: number[] = [];
  private uniform = new Set<string>();

  constructor(
    private readonly vectors: number,
    private readonly scalarParams: readonly number[],
    private readonly q: readonly string[],
    private readonly p: readonly string[],
    private readonly usesTime: boolean,
  ) {
    this.nextLocal = THETA + scalarParams.length;
  }

  /** v128 locals allocated so far. */
  get localCount(): number {
    return this.nextLocal - THETA - this.scalarParams.length;
  }

  private emit(bytes: readonly number[]): void {
    for (const b of bytes) this.code.push(b);
  }

  private allocate(name: string, uniform: boolean): number[] {
    const at = this.nextLocal;
    this.nextLocal += uniform ? 1 : this.vectors;
    const ids = Array.from({ length: this.vectors }, (_, j) => (uniform ? at : at + j));
    this.locals.set(name, ids);
    return ids;
  }

  /** Splats an f64 argument into a new uniform local `name`. */
  private splat(name: string, arg: number): void {
    const [id] = this.allocate(name, true);
    this.emit([...localGet(arg), ...simd(SIMD.f64x2Splat), ...localSet(id!)]);
  }

  /** The body of `run` (without the final `end`), or the reason it cannot be written. */
  body(invariants: LineStatement[], preLoop: LineStatement[], body: LineStatement[], assign: LineStatement[], next: LineExpr[]): number[] | string {
    const n = this.q.length;
    this.uniform = uniformNames([...invariants, ...preLoop, ...body, ...assign], ['dt', 'time', ...this.scalarParams.map((_, k) => `th${this.scalarParams[k]}`)]);
    this.splat('dt', DT);
    this.scalarParams.forEach((k, a) => this.splat(`th${k}`, THETA + a));
    const timeId = this.usesTime ? this.allocate('time', true)[0]! : -1;
    const registers = [...this.q, ...this.p].map((name) => this.allocate(name, false));
    const failed = this.statements(invariants);
    if (failed !== null) return failed;
    this.memory(registers, SIMD.load);
    if (this.usesTime) this.emit([...localGet(FIRST_TIME), ...simd(SIMD.f64x2Splat), ...localSet(timeId)]);
    const preFailed = this.statements(preLoop);
    if (preFailed !== null) return preFailed;
    this.emit([OP.block, OP.void, ...localGet(S), ...localGet(S_END), OP.i32GeS, OP.brIf, 0, OP.loop, OP.void]);
    if (this.usesTime) {
      // time = tStart + s·dt, in f64 as the JS runner computes it, then splat.
      this.emit([...localGet(T_START), ...localGet(S), OP.f64ConvertI32S, ...localGet(DT), OP.f64Mul, OP.f64Add, ...simd(SIMD.f64x2Splat), ...localSet(timeId)]);
    }
    const bodyFailed = this.statements(body);
    if (bodyFailed !== null) return bodyFailed;
    const fresh = next.map((_, v) => this.allocate(`${v < n ? 'nq' : 'np'}${v % n}`, false));
    for (let v = 0; v < next.length; v++) {
      for (let j = 0; j < this.vectors; j++) {
        const e = this.expr(next[v]!, j);
        if (typeof e === 'string') return e;
        this.emit([...e, ...localSet(fresh[v]![j]!)]);
      }
    }
    const assignFailed = this.statements(assign);
    if (assignFailed !== null) return assignFailed;
    this.finiteTest(fresh, registers);
    for (let v = 0; v < registers.length; v++) for (let j = 0; j < this.vectors; j++) this.emit([...localGet(fresh[v]![j]!), ...localSet(registers[v]![j]!)]);
    this.emit([...localGet(S), ...i32Const(1), OP.i32Add, 0x22, S, ...localGet(S_END), OP.i32LtS, OP.brIf, 0, OP.end, OP.end]);
    this.memory(registers, SIMD.store);
    this.emit(i32Const(-1));
    return this.code;
  }

  /**
   * The JS runner's test, per lane: check = nq₀ + np₀ + nq₁ + np₁ + …, and check − check must be 0. When a lane
   * fails, the registers (the state before this step) are stored and `run` returns the step.
   */
  private finiteTest(fresh: number[][], registers: number[][]): void {
    const n = this.q.length;
    const [check, mask] = [this.allocate(' check', false), this.allocate(' mask', false)];
    for (let j = 0; j < this.vectors; j++) {
      for (let i = 0; i < n; i++) {
        this.emit([...localGet(fresh[i]![j]!), ...(i > 0 ? simd(SIMD.f64x2Add) : []), ...localGet(fresh[n + i]![j]!), ...simd(SIMD.f64x2Add)]);
      }
      this.emit([...localSet(check[j]!), ...localGet(check[j]!), ...localGet(check[j]!), ...simd(SIMD.f64x2Sub), ...localSet(mask[j]!)]);
      this.emit([...localGet(mask[j]!), ...localGet(mask[j]!), ...simd(SIMD.f64x2Eq), ...(j > 0 ? simd(SIMD.v128And) : [])]);
    }
    this.emit([...simd(SIMD.i64x2AllTrue), OP.i32Eqz, OP.if, OP.void]);
    this.memory(registers, SIMD.store);
    this.emit([...localGet(S), OP.return, OP.end]);
  }

  /** Loads (or stores) every register's vectors from (to) the block at address 0. */
  private memory(registers: number[][], op: number): void {
    registers.forEach((ids, v) => ids.forEach((id, j) => {
      const offset = (v * this.vectors + j) * 16;
      if (op === SIMD.load) this.emit([...i32Const(0), ...simd(SIMD.load, ...memarg(offset)), ...localSet(id)]);
      else this.emit([...i32Const(0), ...localGet(id), ...simd(SIMD.store, ...memarg(offset))]);
    }));
  }

  /** Emits statements in order; returns the reason when one reads a name not yet assigned. */
  private statements(list: readonly LineStatement[]): string | null {
    for (const st of list) {
      const uniform = this.uniform.has(st.name);
      const ids = this.locals.get(st.name) ?? this.allocate(st.name, uniform);
      for (let j = 0; j < (uniform ? 1 : this.vectors); j++) {
        const e = this.expr(st.expr, j);
        if (typeof e === 'string') return e;
        this.emit([...e, ...localSet(ids[j]!)]);
      }
    }
    return null;
  }

  /** Math.sign(x) lane by lane: x > 0 ? 1 : x < 0 ? −1 : x (so ±0 and NaN are kept, as in JS). */
  private sign(arg: LineExpr, j: number): number[] | string {
    const a = this.expr(arg, j);
    if (typeof a === 'string') return a;
    const [x] = this.allocate(` sign${this.nextLocal}`, true);
    const compare = (op: number) => [...localGet(x!), ...f64x2Const(0), ...simd(op)];
    return [...a, ...localSet(x!), ...f64x2Const(1), ...f64x2Const(-1), ...localGet(x!), ...compare(SIMD.f64x2Lt), ...simd(SIMD.v128Bitselect), ...compare(SIMD.f64x2Gt), ...simd(SIMD.v128Bitselect)];
  }

  /** The bytes of one expression for vector `j` (recursion bounded by the lowering's inline depth). */
  private expr(e: LineExpr, j: number): number[] | string {
    switch (e.kind) {
      case 'num':
        return f64x2Const(e.value);
      case 'ref': {
        const ids = this.locals.get(e.name);
        return ids === undefined ? `the step reads '${e.name}', which is not a scalar of the step` : localGet(ids[j]!);
      }
      case 'neg': {
        const a = this.expr(e.arg, j);
        return typeof a === 'string' ? a : [...a, ...simd(SIMD.f64x2Neg)];
      }
      case 'bin': {
        const a = this.expr(e.left, j), b = this.expr(e.right, j);
        if (typeof a === 'string') return a;
        if (typeof b === 'string') return b;
        return [...a, ...b, ...simd(BINARY_OPS[e.op])];
      }
      case 'call': {
        if (e.fn === 'sign') return this.sign(e.args[0]!, j);
        const out: number[] = [];
        for (let k = 0; k < e.args.length; k++) {
          const a = this.expr(e.args[k]!, j);
          if (typeof a === 'string') return a;
          out.push(...a);
          if (k > 0 || e.args.length === 1) out.push(...simd(CALL_OPS[e.fn])); // Math.max(a, b, c) = max(max(a, b), c)
        }
        return out;
      }
    }
  }
}

/**
 * Names whose every assignment reads only uniform values (the same in every lane): `base` (dt, time, θ) and
 * what is computed from them alone. They live in one local instead of one per vector.
 */
function uniformNames(statements: readonly LineStatement[], base: readonly string[]): Set<string> {
  const uniform = new Set<string>([...base, ...statements.map((s) => s.name)]);
  const refs = statements.map((s) => exprRefs(s.expr));
  for (let changed = true; changed;) {
    changed = false;
    statements.forEach((s, k) => {
      if (uniform.has(s.name) && refs[k]!.some((r) => !uniform.has(r))) {
        uniform.delete(s.name);
        changed = true;
      }
    });
  }
  return uniform;
}

/**
 * Bound on vectors × live peak (`livePeak`, values per trajectory) for the block size, set from measurements
 * (bench/lane-runner.ts, CPU time, x86-64 with V8's 16 XMM registers): Hénon–Heiles leapfrog (peak 12) and
 * yoshida4 (14) ran fastest at 8 lanes (4 vectors), rk4 (18) at 4 lanes, an FPU-β chain of 16 sites (97) at 2
 * (4 close, 8 lanes half as fast). Spilling is cheap next to the latency chains the extra lanes hide, up to a point.
 */
const VECTOR_BUDGET = 60;

/**
 * Lanes of the block for a step whose values at most `peak` are live at once (per trajectory): as many f64x2
 * vectors per value (1, 2 or 4) as keep vectors × peak within VECTOR_BUDGET, at least one.
 *
 * @example
 * lanesFor(12); // 8
 * lanesFor(18); // 4
 * lanesFor(97); // 2
 */
export function lanesFor(peak: number): number {
  for (const vectors of [4, 2]) if (vectors * peak <= VECTOR_BUDGET) return 2 * vectors;
  return 2;
}

/**
 * The most values live at once in a step (straight-line statements): the `always` live ones (state, carried
 * values) and each other name from its assignment to its last reading.
 *
 * @example
 * livePeak(parseStatements(['const a = (x * x);', 'const b = (a + y);']) as LineStatement[], ['x', 'y']); // 3
 */
export function livePeak(statements: readonly LineStatement[], always: readonly string[]): number {
  const pinned = new Set(always);
  const lastRead = new Map<string, number>();
  statements.forEach((st, k) => { for (const r of exprRefs(st.expr)) lastRead.set(r, k); });
  const live = new Set<string>();
  let peak = 0;
  statements.forEach((st, k) => {
    for (const r of exprRefs(st.expr)) if (lastRead.get(r) === k) live.delete(r);
    if (!pinned.has(st.name) && (lastRead.get(st.name) ?? -1) > k) live.add(st.name);
    peak = Math.max(peak, pinned.size + live.size);
  });
  return peak;
}
