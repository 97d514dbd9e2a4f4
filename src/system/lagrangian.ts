import { DarbouxError } from '../errors.js';
import { constant, input, stack, stepSize, sub, time, unitVector, index } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { inputsOf } from '../ir/traverse.js';
import { gradient as symbolicGradient, vjp } from '../autodiff/vjp.js';
import { jvp } from '../autodiff/jvp.js';
import { graphEvaluator, type GraphEvaluator } from '../ir/evaluate-graph.js';
import { parameterValuesByName, type System } from './system.js';
import type { Hamiltonian, ParamValues } from './hamiltonian.js';
import { luFactor, luSolve, pivotedSolve, SINGULAR_CONDITION, type DenseLu } from './lagrangian-linear.js';
import { chargeFunction, checkSymmetry, type NoetherGenerator, type SymmetryCheckOptions, type SymmetryReport } from './lagrangian-noether.js';
import { legendreTransform } from './lagrangian-legendre.js';

/** What a Lagrangian is built from. */
export interface LagrangianDefinition {
  /** The scalar L(q, v; θ, t). */
  L: Expr;
  /** The position input vector (shape [dof]). */
  q: Expr;
  /** The velocity input vector (shape [dof]). */
  v: Expr;
  /** Values of every parameter L uses. */
  params?: ParamValues;
  /** Display names of the coordinates and velocities. */
  names?: { q?: readonly string[]; v?: readonly string[] };
}

/** The symbolic pieces of the Euler–Lagrange equations, as expressions of q, v, t and θ. */
export interface EulerLagrangeExprs {
  /** ∂L/∂q. */
  readonly dq: Expr;
  /** ∂L/∂v (the momenta). */
  readonly dv: Expr;
  /** ∂²L/∂v², row-major scalar entries [i][j] = ∂²L/∂vᵢ∂vⱼ (forward over reverse). */
  readonly velocityHessian: readonly (readonly Expr[])[];
  /** ∂L/∂q − (∂²L/∂v∂q)·v − ∂²L/∂v∂t: the right-hand side of ∂²L/∂v² · q̈ = rhs. */
  readonly rhs: Expr;
  /** q̈ = (∂²L/∂v²)⁻¹ rhs, by the run-time pivoted elimination of `pivotedSolve`. */
  readonly accelerations: Expr;
}

/** The maximum number of Newton iterations of the host's inverse Legendre map (`velocities`). */
const LEGENDRE_MAX_ITERATIONS = 60;

/**
 * A Lagrangian L(q, v; θ, t): the expression, its Euler–Lagrange equations (symbolic, by forward-over-reverse
 * autodiff), f64 evaluators of the value, momenta, energy and accelerations, Noether charges, and the Legendre
 * transform. Built by `lagrangian`; compiled by `compile` with 'variationalMidpoint', 'variationalTrapezoid' or 'rk4'.
 *
 * @example
 * const L = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2' });
 * L.accelerations([1], [0]); // Float64Array [-1]
 */
export class Lagrangian {
  readonly L: Expr;
  readonly q: Expr;
  readonly v: Expr;
  readonly dof: number;
  /** The time input node (L may depend on it). */
  readonly time: Expr = time();
  /** The step-size input node of integrator programs. */
  readonly dt: Expr = stepSize();
  /** Parameter input nodes L depends on, in a stable order. */
  readonly params: readonly Expr[];
  /** Current parameter values, aligned with `params`. */
  readonly paramValues: readonly Float64Array[];
  readonly names: { q: readonly string[]; v: readonly string[] };
  private exprCache?: EulerLagrangeExprs;
  private gradientCache?: { dq: Expr; dv: Expr };
  private evaluators: Partial<Record<'value' | 'momenta' | 'hessians' | 'momentaVjp', GraphEvaluator>> = {};
  private systems: { phase?: System; velocity?: System } = {};

  constructor(def: LagrangianDefinition) {
    const { L, q, v } = def;
    if (L.shape.length !== 0) throw new DarbouxError('SHAPE', `L must be a scalar, got shape [${L.shape.join('×')}]`);
    if (q.shape.length !== 1 || v.shape.length !== 1 || q.shape[0] !== v.shape[0] || q === v) {
      throw new DarbouxError('SHAPE', `q and v must be distinct vectors of equal length (got [${q.shape}] and [${v.shape}])`, { q: q.shape, v: v.shape });
    }
    this.L = L;
    this.q = q;
    this.v = v;
    this.dof = q.shape[0]!;
    this.params = inputsOf([L]).filter((n) => n.attrs.role === 'param').sort((a, b) => a.id - b.id);
    this.paramValues = this.params.map((node) => {
      const name = node.attrs.name as string;
      const value = def.params?.[name];
      if (value === undefined) throw new DarbouxError('SPEC', `parameter '${name}' has no value: pass it in params`, { name });
      const arr = typeof value === 'number' ? Float64Array.of(value) : Float64Array.from(value);
      if (arr.length !== size(node.shape)) {
        throw new DarbouxError('SPEC', `parameter '${name}' needs ${size(node.shape)} value(s), got ${arr.length}`, { name });
      }
      return arr;
    });
    const qn = def.names?.q ?? Array.from({ length: this.dof }, (_, i) => `q${i}`);
    const vn = def.names?.v ?? Array.from({ length: this.dof }, (_, i) => `v${i}`);
    this.names = { q: [...qn], v: [...vn] };
  }

  /** Parameter values by name (numbers for scalars). @example L.paramsByName() // { m: 1 } */
  paramsByName(): Record<string, number | Float64Array> {
    return parameterValuesByName(this.phaseSystem());
  }

  /** A copy with other parameter values. @example L.withParams({ m: 2 }) */
  withParams(values: ParamValues): Lagrangian {
    return new Lagrangian({ L: this.L, q: this.q, v: this.v, params: { ...this.paramsByName(), ...values }, names: this.names });
  }

  /** Symbolic ∂L/∂q and ∂L/∂v (reverse mode, built once). @example const { dq, dv } = L.gradientExprs() */
  gradientExprs(): { dq: Expr; dv: Expr } {
    if (this.gradientCache === undefined) {
      const [dq, dv] = symbolicGradient(this.L, [this.q, this.v]);
      this.gradientCache = { dq: dq!, dv: dv! };
    }
    return this.gradientCache;
  }

  /**
   * The symbolic Euler–Lagrange pieces (built once): gradients by reverse mode, the Hessian blocks by forward mode
   * over them, (∂²L/∂v∂q)·v as one JVP along v, and the accelerations by a pivoted symbolic solve.
   *
   * @example
   * const { accelerations } = L.eulerLagrange(); // an Expr of q, v, t, θ
   */
  eulerLagrange(): EulerLagrangeExprs {
    if (this.exprCache !== undefined) return this.exprCache;
    const n = this.dof;
    const { dq, dv } = this.gradientExprs();
    const element = (e: Expr | null, i: number) => (e === null ? constant(0) : index(e, i));
    const columns = Array.from({ length: n }, (_, j) => jvp([dv], new Map([[this.v, unitVector(n, j)]]))[0]!);
    const velocityHessian = Array.from({ length: n }, (_, i) => columns.map((c) => element(c, i)));
    const [mixed, timed] = [jvp([dv], new Map([[this.q, this.v]]))[0]!, jvp([dv], new Map([[this.time, constant(1)]]))[0]!];
    let rhs = dq;
    if (mixed !== null) rhs = sub(rhs, mixed);
    if (timed !== null) rhs = sub(rhs, timed);
    const rhsElems = Array.from({ length: n }, (_, i) => (rhs.shape.length === 0 ? rhs : index(rhs, i)));
    const accelerations = stack(pivotedSolve(velocityHessian, rhsElems));
    return (this.exprCache = { dq, dv, velocityHessian, rhs, accelerations });
  }

  /** Inputs of every f64 evaluator: q, v, time, extra, then the parameters. @internal */
  evaluatorInputs(...extra: Expr[]): Expr[] {
    return [this.q, this.v, this.time, ...extra, ...this.params];
  }

  private checkState(q: ArrayLike<number>, v: ArrayLike<number>, what = 'q and v'): void {
    if (q?.length !== this.dof || v?.length !== this.dof) {
      throw new DarbouxError('INPUT', `${what} must have length ${this.dof} (dof), got ${q?.length} and ${v?.length}`, { dof: this.dof });
    }
  }

  private evaluate(key: 'value' | 'momenta' | 'hessians' | 'momentaVjp', outputs: () => Expr[], args: ArrayLike<number>[], sizes: number[], extra: Expr[] = []): Float64Array[] {
    const f = (this.evaluators[key] ??= graphEvaluator(this.evaluatorInputs(...extra), outputs()));
    const out = sizes.map((s) => new Float64Array(s));
    f([...args, ...this.paramValues], out);
    return out;
  }

  /** L(q, v) in f64 (at time t, default 0). @example L.value([1], [0]) */
  value(q: ArrayLike<number>, v: ArrayLike<number>, t = 0): number {
    this.checkState(q, v);
    return this.evaluate('value', () => [this.L], [q, v, [t]], [1])[0]![0]!;
  }

  /** The momenta p = ∂L/∂v(q, v) in f64. @example L.momenta([1], [0.5]) // [0.5] for L = v²/2 − … */
  momenta(q: ArrayLike<number>, v: ArrayLike<number>, t = 0): Float64Array {
    this.checkState(q, v);
    return this.evaluate('momenta', () => [this.eulerLagrange().dv], [q, v, [t]], [this.dof])[0]!;
  }

  /** The energy E = v·∂L/∂v − L in f64. @example L.energy([1], [0]) // 0.5 for L = v²/2 − x²/2 */
  energy(q: ArrayLike<number>, v: ArrayLike<number>, t = 0): number {
    const p = this.momenta(q, v, t);
    let e = -this.value(q, v, t);
    for (let i = 0; i < this.dof; i++) e += v[i]! * p[i]!;
    return e;
  }

  /**
   * The vector–Jacobian product of the momentum map p = ∂L/∂v(q, v; θ) with a cotangent c: cᵀ∂p/∂q, cᵀ∂p/∂v and
   * cᵀ∂p/∂θ (aligned with `params`), in f64 (what adjoints through the Legendre map need).
   *
   * @example
   * const { dq, dv, dparams } = L.momentaVjp([1, 0], [0, 1], 0, [1, 0]);
   */
  momentaVjp(q: ArrayLike<number>, v: ArrayLike<number>, t: number, c: ArrayLike<number>): { dq: Float64Array; dv: Float64Array; dparams: Float64Array[] } {
    this.checkState(q, v);
    this.checkState(q, c, 'q and the cotangent');
    const cotangent = input('aux', 'momenta_cotangent', [this.dof]);
    const sizes = [this.dof, this.dof, ...this.params.map((node) => size(node.shape))];
    const [dq, dv, ...dparams] = this.evaluate('momentaVjp', () => vjp([this.gradientExprs().dv], [cotangent], [this.q, this.v, ...this.params]), [q, v, [t], c], sizes, [cotangent]);
    return { dq: dq!, dv: dv!, dparams };
  }

  /**
   * ∂²L/∂v² (row-major dof×dof), ∂L/∂v and the Euler–Lagrange right-hand side at (q, v, t), in f64. @internal
   *
   * @example
   * const { hessian, momenta, rhs } = L.hessians([1, 0], [0, 1]);
   */
  hessians(q: ArrayLike<number>, v: ArrayLike<number>, t = 0): { hessian: Float64Array; momenta: Float64Array; rhs: Float64Array } {
    this.checkState(q, v);
    const n = this.dof;
    const [hessian, momenta, rhs] = this.evaluate(
      'hessians',
      () => {
        const el = this.eulerLagrange();
        return [stack(el.velocityHessian.flat()), el.dv, el.rhs];
      },
      [q, v, [t]],
      [n * n, n, n],
    );
    return { hessian: hessian!, momenta: momenta!, rhs: rhs! };
  }

  /**
   * The LU factorisation of ∂²L/∂v² at (q, v, t), or SINGULAR (naming the state and the condition estimate) when
   * it is singular or its condition number reaches `SINGULAR_CONDITION`. @internal
   */
  factorHessian(q: ArrayLike<number>, v: ArrayLike<number>, t: number, hessian: Float64Array): DenseLu {
    const f = luFactor(hessian, this.dof);
    if (!(f.condition < SINGULAR_CONDITION)) {
      const state = `q = [${Array.from(q).join(', ')}], v = [${Array.from(v).join(', ')}]${t !== 0 ? `, t = ${t}` : ''}`;
      throw new DarbouxError(
        'SINGULAR',
        `the velocity Hessian ∂²L/∂v² is ${f.condition === Infinity ? 'singular' : 'near-singular'} at ${state} ` +
          `(condition number ${f.condition === Infinity ? '∞' : f.condition.toExponential(2)}, limit ${SINGULAR_CONDITION.toExponential(0)}): ` +
          'the Euler–Lagrange equations do not determine the accelerations there (a degenerate Lagrangian, or a state on its singular set)',
        { q: Array.from(q), v: Array.from(v), t, condition: f.condition },
      );
    }
    return f;
  }

  /**
   * The accelerations q̈ = (∂²L/∂v²)⁻¹(∂L/∂q − (∂²L/∂v∂q)v − ∂²L/∂v∂t) in f64, by an LU with partial pivoting
   * (indefinite Hessians are fine; a singular or near-singular one throws SINGULAR with the state).
   *
   * @example
   * lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2' }).accelerations([1], [0]); // [-1]
   */
  accelerations(q: ArrayLike<number>, v: ArrayLike<number>, t = 0): Float64Array {
    const { hessian, rhs } = this.hessians(q, v, t);
    return luSolve(this.factorHessian(q, v, t, hessian), rhs);
  }

  /**
   * The inverse Legendre map: the velocities v with ∂L/∂v(q, v) = p, by Newton's method in f64 from `guess`
   * (default zero), converged to rounding (NO_CONVERGENCE otherwise; SINGULAR where ∂²L/∂v² is singular).
   *
   * @example
   * L.velocities([1, 0], [0, 1]); // [0, 1] for L = |v|²/2 − V(q)
   */
  velocities(q: ArrayLike<number>, p: ArrayLike<number>, t = 0, guess?: ArrayLike<number>): Float64Array {
    this.checkState(q, p, 'q and p');
    let v = guess === undefined ? new Float64Array(this.dof) : Float64Array.from(guess);
    let at = this.legendreResidual(q, p, v, t);
    let previous = Infinity;
    for (let it = 1; it <= LEGENDRE_MAX_ITERATIONS && Number.isFinite(at.norm); it++) {
      const step = luSolve(this.factorHessian(q, v, t, at.hessian), at.residual);
      const scale = Math.max(1e-300, ...Array.from(v, Math.abs));
      const delta = Math.max(...Array.from(step, Math.abs));
      // Backtracking: halve the step until the residual is finite and smaller (strongly non-quadratic L, e.g.
      // relativistic ones, overshoot their domain from rest). Steps at rounding level are taken as they are.
      let lambda = 1, next = v.map((x, i) => x - step[i]!), trial = this.legendreResidual(q, p, next, t);
      while (delta > 256 * Number.EPSILON * scale && !(trial.norm < at.norm) && lambda > 1e-12) {
        lambda /= 2;
        next = v.map((x, i) => x - lambda * step[i]!);
        trial = this.legendreResidual(q, p, next, t);
      }
      v = next;
      at = trial;
      const moved = lambda * delta;
      if (moved <= 4 * Number.EPSILON * scale || (moved >= previous && moved <= 256 * Number.EPSILON * scale) || at.norm === 0) return v;
      previous = moved;
    }
    throw new DarbouxError(
      'NO_CONVERGENCE',
      `the inverse Legendre map (v with ∂L/∂v(q, v) = p) did not converge at q = [${Array.from(q).join(', ')}], p = [${Array.from(p).join(', ')}] ` +
        `after ${LEGENDRE_MAX_ITERATIONS} Newton iterations; pass a better guess or check that p is a momentum L can reach`,
      { q: Array.from(q), p: Array.from(p), t },
    );
  }

  /** ∂L/∂v(q, v) − p, its max-norm (Infinity when not finite) and ∂²L/∂v² at (q, v). */
  private legendreResidual(q: ArrayLike<number>, p: ArrayLike<number>, v: Float64Array, t: number): { residual: Float64Array; norm: number; hessian: Float64Array } {
    const { hessian, momenta } = this.hessians(q, v, t);
    const residual = momenta.map((m, i) => m - p[i]!);
    let norm = 0;
    for (const r of residual) norm = Math.max(norm, Math.abs(r));
    if (!Number.isFinite(norm) || !hessian.every(Number.isFinite)) norm = Infinity;
    return { residual, norm, hessian };
  }

  /**
   * The Noether charge p·X(q) of a linear symmetry generator (rotation in the (qᵢ, qⱼ) plane, translation along a
   * direction, simultaneous shift of chosen coordinates) as a function of (q, v). By default L is first checked to be
   * invariant (`checkSymmetry`); a non-invariant L throws SPEC with the report in `details` — pass
   * `{ check: false }` to get the charge anyway (e.g. of a learned Lagrangian).
   *
   * @example
   * const Lz = L.charge({ rotation: [0, 1] });
   * Lz([1, 0], [0, 1]); // 1
   */
  charge(generator: NoetherGenerator, options: SymmetryCheckOptions & { check?: boolean } = {}): (q: ArrayLike<number>, v: ArrayLike<number>, t?: number) => number {
    const { check = true, ...checkOptions } = options;
    if (check) {
      const report = this.checkSymmetry(generator, checkOptions);
      if (!report.invariant) throw new DarbouxError('SPEC', `charge: ${report.message}; pass { check: false } to compute the charge anyway`, { report });
    }
    return chargeFunction(this, generator);
  }

  /**
   * Tests the invariance of L under a generator on random states: the infinitesimal change δL = ∂L/∂q·X(q) +
   * ∂L/∂v·X(v), relative to the size of its terms, must be at rounding level. Returns a report (never throws for a
   * non-invariant L).
   *
   * @example
   * L.checkSymmetry({ rotation: [0, 1] }).invariant; // true for a central potential
   */
  checkSymmetry(generator: NoetherGenerator, options: SymmetryCheckOptions = {}): SymmetryReport {
    return checkSymmetry(this, generator, options);
  }

  /**
   * The Legendre transform of an L quadratic in v (L = ½vᵀM(q,t)v + b(q,t)·v + L₀(q,t)):
   * H(q, p) = ½(p − b)ᵀM⁻¹(p − b) − L₀, a `Hamiltonian` usable with every method. Refuses (SPEC) an L whose
   * ∂²L/∂v² depends on v, and a non-constant M beyond a small dof.
   *
   * @example
   * const h = lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2' }).toHamiltonian(); // H = p²/2 + x²/2
   */
  toHamiltonian(): Hamiltonian {
    return legendreTransform(this);
  }

  /**
   * The system the variational integrators advance: state (q, p) with p the discrete momenta (an input of its
   * own), and L's time, step-size and parameter inputs. @internal
   */
  phaseSystem(): System {
    return (this.systems.phase ??= this.system(input('p', 'p', [this.dof]), this.names.v.map((n) => `p_${n}`)));
  }

  /**
   * The system `rk4` on the Euler–Lagrange ODE advances: state (q, v), the velocities in the second slot. @internal
   */
  velocitySystem(): System {
    return (this.systems.velocity ??= this.system(this.v, this.names.v));
  }

  private system(p: Expr, pNames: readonly string[]): System {
    return { dof: this.dof, q: this.q, p, time: this.time, dt: this.dt, params: this.params, paramValues: this.paramValues, names: { q: this.names.q, p: pNames } };
  }
}
