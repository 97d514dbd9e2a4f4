import { parameterValuesByName, type System } from './system.js';
import { DarbouxError, escapeText, showValue } from '../errors.js';
import { constant, input, stepSize, time } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { inputsOf } from '../ir/traverse.js';
import { size } from '../ir/shape.js';
import { gradient as symbolicGradient } from '../autodiff/vjp.js';
import { jvp } from '../autodiff/jvp.js';
import { graphEvaluator, type GraphEvaluator } from '../ir/evaluate-graph.js';
import { splitSeparable, type SeparableSplit } from './separability.js';

/** Values of named parameters: numbers for scalars, flat row-major arrays for tensors. */
export type ParamValues = Record<string, number | ArrayLike<number>>;

/** What a Hamiltonian is built from. */
export interface HamiltonianDefinition {
  /** The scalar energy H(q, p; θ, t). */
  H: Expr;
  /** The position input vector (shape [dof]). */
  q: Expr;
  /** The momentum input vector (shape [dof]). */
  p: Expr;
  /** Values of every parameter H uses. */
  params?: ParamValues;
  /** Display names of the coordinates (for printing). */
  names?: { q?: readonly string[]; p?: readonly string[] };
}

/**
 * A Hamiltonian H(q, p; θ, t): the expression, its symbolic gradient, and compiled f64 evaluators.
 * Built by `parse` (formulas) or `hamiltonian` (the DSL); consumed by `compile`.
 *
 * @example
 * const h = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2' });
 * h.energy([1], [0]); // 0.5
 */
export class Hamiltonian implements System {
  readonly H: Expr;
  readonly q: Expr;
  readonly p: Expr;
  readonly dof: number;
  /** The time input node (H may depend on it). */
  readonly time: Expr = time();
  /** The step-size input node used by integrator programs. */
  readonly dt: Expr = stepSize();
  /** Parameter input nodes H depends on, in a stable order. */
  readonly params: readonly Expr[];
  /** Current parameter values, aligned with `params`. */
  readonly paramValues: readonly Float64Array[];
  readonly names: { q: readonly string[]; p: readonly string[] };
  private splitCache?: SeparableSplit;
  private gradientCache?: { dq: Expr; dp: Expr };
  private evaluators: { energy?: GraphEvaluator; gradient?: GraphEvaluator; hessianVectorProduct?: GraphEvaluator } = {};

  constructor(def: HamiltonianDefinition) {
    const { H, q, p } = def;
    if (H.shape.length !== 0) throw new DarbouxError('SHAPE', `H must be a scalar, got shape [${H.shape.join('×')}]`);
    if (q.shape.length !== 1 || p.shape.length !== 1 || q.shape[0] !== p.shape[0]) {
      throw new DarbouxError('SHAPE', `q and p must be vectors of equal length (got [${q.shape}] and [${p.shape}])`);
    }
    this.H = H;
    this.q = q;
    this.p = p;
    this.dof = q.shape[0]!;
    this.params = inputsOf([H]).filter((n) => n.attrs.role === 'param').sort((a, b) => a.id - b.id);
    this.paramValues = this.params.map((node) => {
      const name = node.attrs.name as string;
      const v = def.params !== undefined && def.params !== null && Object.hasOwn(def.params, name) ? def.params[name] : undefined;
      if (v === undefined) throw new DarbouxError('SPEC', `parameter '${escapeText(name)}' has no value: pass it in params`, { name });
      return parameterArray(name, v, size(node.shape));
    });
    const qn = def.names?.q ?? Array.from({ length: this.dof }, (_, i) => `q${i}`);
    const pn = def.names?.p ?? Array.from({ length: this.dof }, (_, i) => `p${i}`);
    this.names = { q: [...qn], p: [...pn] };
  }

  /** Parameter values by name (numbers for scalars). @example h.paramsByName() // { lam: 1 } */
  paramsByName(): Record<string, number | Float64Array> {
    return parameterValuesByName(this);
  }

  /** A copy with other parameter values. @example h.withParams({ lam: 0.5 }) */
  withParams(values: ParamValues): Hamiltonian {
    return new Hamiltonian({ H: this.H, q: this.q, p: this.p, params: { ...this.paramsByName(), ...values }, names: this.names });
  }

  /** Structural split H = T(p) + V(q), or the first coupling term. @example h.split() */
  split(): SeparableSplit {
    return (this.splitCache ??= splitSeparable(this.H, this.q, this.p));
  }

  /** True iff H = T(p) + V(q) structurally. @example parse({...}).isSeparable */
  get isSeparable(): boolean {
    return this.split().separable;
  }

  /** Symbolic ∂H/∂q and ∂H/∂p (reverse mode). @example const { dq, dp } = h.gradientExprs() */
  gradientExprs(): { dq: Expr; dp: Expr } {
    if (this.gradientCache === undefined) {
      const [dq, dp] = symbolicGradient(this.H, [this.q, this.p]);
      this.gradientCache = { dq: dq!, dp: dp! };
    }
    return this.gradientCache;
  }

  /** Inputs of every compiled evaluator: q, p, time, then the parameters. @internal */
  evaluatorInputs(...extra: Expr[]): Expr[] {
    return [this.q, this.p, this.time, ...extra, ...this.params];
  }

  private checkState(q: ArrayLike<number>, p: ArrayLike<number>): void {
    if (q.length !== this.dof || p.length !== this.dof) {
      throw new DarbouxError('INPUT', `q and p must have length ${this.dof} (dof), got ${q.length} and ${p.length}`);
    }
  }

  /** H(q, p) in f64 (at time t, default 0). @example h.energy([1, 0], [0, 1]) */
  energy(q: ArrayLike<number>, p: ArrayLike<number>, t = 0): number {
    this.checkState(q, p);
    const f = (this.evaluators.energy ??= graphEvaluator(this.evaluatorInputs(), [this.H]));
    const out = [new Float64Array(1)];
    f([q, p, [t], ...this.paramValues], out);
    return out[0]![0]!;
  }

  /** ∂H/∂q, ∂H/∂p from the symbolic derivative, in f64. @example const { dq, dp } = h.gradient([1], [0]) */
  gradient(q: ArrayLike<number>, p: ArrayLike<number>, t = 0): { dq: Float64Array; dp: Float64Array } {
    this.checkState(q, p);
    const f = (this.evaluators.gradient ??= (() => {
      const { dq, dp } = this.gradientExprs();
      return graphEvaluator(this.evaluatorInputs(), [dq, dp]);
    })());
    const out = [new Float64Array(this.dof), new Float64Array(this.dof)];
    f([q, p, [t], ...this.paramValues], out);
    return { dq: out[0]!, dp: out[1]! };
  }

  /**
   * Hessian–vector product ∇²H·(vq, vp), as the JVP of the symbolic gradient.
   * @example const { dq, dp } = h.hessianVectorProduct(q, p, [1, 0], [0, 0])
   */
  hessianVectorProduct(q: ArrayLike<number>, p: ArrayLike<number>, vq: ArrayLike<number>, vp: ArrayLike<number>, t = 0): { dq: Float64Array; dp: Float64Array } {
    this.checkState(q, p);
    this.checkState(vq, vp);
    const f = (this.evaluators.hessianVectorProduct ??= ((): GraphEvaluator => {
      const tq = input('aux', 'vq', [this.dof]), tp = input('aux', 'vp', [this.dof]);
      const { dq, dp } = this.gradientExprs();
      const [hq, hp] = jvp([dq, dp], new Map([[this.q, tq], [this.p, tp]]));
      return graphEvaluator(this.evaluatorInputs(tq, tp), [hq ?? constant(0, [this.dof]), hp ?? constant(0, [this.dof])]);
    })());
    const out = [new Float64Array(this.dof), new Float64Array(this.dof)];
    f([q, p, [t], vq, vp, ...this.paramValues], out);
    return { dq: out[0]!, dp: out[1]! };
  }
}

/**
 * A parameter's values as f64, refusing (SPEC, as `parse` does) anything but finite numbers of the right count:
 * `withParams({ lam: NaN })` fails here, not later in a kernel.
 *
 * @example
 * parameterArray('lam', 0.5, 1); // Float64Array [0.5]
 */
function parameterArray(name: string, v: unknown, count: number): Float64Array {
  const shown = `parameter '${escapeText(name)}'`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new DarbouxError('SPEC', `${shown} must be a finite number, got ${v}`, { name, value: v });
    if (count !== 1) throw new DarbouxError('SPEC', `${shown} needs ${count} value(s), got 1`, { name, count });
    return Float64Array.of(v);
  }
  if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
    throw new DarbouxError('SPEC', `${shown} must be a number or an array of numbers, got ${showValue(v)}`, { name });
  }
  const values = v as ArrayLike<unknown>;
  if (values.length !== count) throw new DarbouxError('SPEC', `${shown} needs ${count} value(s), got ${values.length}`, { name, count });
  const arr = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new DarbouxError('SPEC', `${shown} must hold finite numbers, got ${showValue(x)} at index ${i}`, { name, index: i, value: x });
    }
    arr[i] = x;
  }
  return arr;
}
