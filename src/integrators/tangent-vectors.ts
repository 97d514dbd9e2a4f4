/**
 * The exact tangent step of `count` vectors at once (Lyapunov spectra): (δq′, δp′) = Φ′(q, p)·(δq, δp). Explicit
 * steps by one JVP of the whole step; implicit ones by the implicit function theorem, as one more fixed point
 * solved after the step's own: with W = F(W; z) and z′ = G(W, z), the stage tangents solve the linear stage
 * equations δW = F_W·δW + F_z·δz, and δz′ = G_W·δW + G_z·δz. Never differentiates the iterations.
 */
import { constant, input } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { jvp } from '../autodiff/jvp.js';
import { newtonProblem } from './newton.js';
import type { FixedPointProblem, StepProgram } from './step-program.js';

/** One tangent vector: its inputs (δq, δp) and its image (δq′, δp′) after one step. */
export interface TangentVector {
  readonly tq: Expr;
  readonly tp: Expr;
  readonly dq: Expr;
  readonly dp: Expr;
}

/**
 * `count` tangent steps, and for implicit programs the linear stage equations of all of them as one fixed-point
 * problem (`solve`, solved after `program.implicit`, whose unknowns the images `dq`, `dp` also refer to).
 */
export interface TangentVectors {
  readonly tangents: readonly TangentVector[];
  readonly solve?: FixedPointProblem;
}

/** The JVPs of some roots along some seeds, with structurally zero tangents as zero constants. */
function directional(roots: readonly Expr[], seeds: ReadonlyMap<Expr, Expr>): Expr[] {
  return jvp(roots, new Map(seeds)).map((t, k) => t ?? constant(0, roots[k]!.shape));
}

/**
 * The tangent steps of `count` vectors (see the module comment). For an implicit program the stage tangents
 * δW_j of vector j start from F_z·δz_j (the first iterate from zero) and iterate the linearised map — the JVP of
 * F, which contracts exactly when the step's own iteration does — or, for a program solved by Newton's method
 * (`solver: 'newton' | 'simplifiedNewton'`), Newton's method on the linear equations (exact after one
 * iteration; the plain iteration may diverge there as the nonlinear one would). The tolerance scale is the
 * tangents' own size.
 *
 * @example
 * const { tangents, solve } = tangentVectors(stepProgram(h, 'gauss4'), 4);
 * // solve.unknowns: 4 × 4 stage tangents; tangents[j].dq refers to them and to the stages of gauss4
 */
export function tangentVectors(program: StepProgram, count: number): TangentVectors {
  const cached = built.get(program)?.get(count);
  if (cached !== undefined) return cached;
  const result = buildTangentVectors(program, count);
  if (!built.has(program)) built.set(program, new Map());
  built.get(program)!.set(count, result);
  return result;
}

/** Tangent steps built so far, per program and count. */
const built = new WeakMap<StepProgram, Map<number, TangentVectors>>();

function buildTangentVectors(program: StepProgram, count: number): TangentVectors {
  const h = program.system;
  const fp = program.implicit;
  const roots = [program.next.q, program.next.p];
  const problems: FixedPointProblem[] = [];
  const tangents = Array.from({ length: count }, (_, j): TangentVector => {
    const tq = input('aux', `lyapunov_q${j}`, [h.dof]), tp = input('aux', `lyapunov_p${j}`, [h.dof]);
    const fromState = new Map<Expr, Expr>([[h.q, tq], [h.p, tp]]);
    if (fp === undefined) {
      const [dq, dp] = directional(roots, fromState);
      return { tq, tp, dq: dq!, dp: dp! };
    }
    const stages = fp.unknowns.map((w, k) => input('aux', `lyapunov_w${j}_${k}`, w.shape));
    const seeds = new Map<Expr, Expr>([...fromState, ...fp.unknowns.map((w, k): [Expr, Expr] => [w, stages[k]!])]);
    const linear: FixedPointProblem = { unknowns: stages, initial: directional(fp.update, fromState), update: directional(fp.update, seeds), scale: [tq, tp] };
    const solver = fp.solver;
    problems.push(solver === 'newton' || solver === 'simplifiedNewton' ? newtonProblem(linear, solver) : linear);
    const [dq, dp] = directional(roots, seeds);
    return { tq, tp, dq: dq!, dp: dp! };
  });
  if (fp === undefined) return { tangents };
  const all = (pick: (p: FixedPointProblem) => readonly Expr[]) => problems.flatMap(pick);
  const solve: FixedPointProblem = {
    unknowns: all((p) => p.unknowns),
    initial: all((p) => p.initial),
    update: all((p) => p.update),
    ...(problems[0]!.iteration === undefined ? {} : { iteration: all((p) => p.iteration!), solver: problems[0]!.solver }),
    scale: all((p) => p.scale!),
  };
  return { tangents, solve };
}
