/**
 * The per-sample loss graph of an lnn's trajectory window, for the device: one window (its start (q₀, v₀) and the
 * `horizon` observations after it) integrated symbolically by the step program — rk4 on the Euler–Lagrange ODE,
 * or a variational method with its Newton iterations unrolled — so the training kernels of `fit` (f32 WGSL,
 * reverse mode over the graph) train on trajectories. The loss is the one of the CPU objective
 * (`trajectory-fit.ts`, `lnn-variational-objective.ts`): the mean over the window's steps and 2·dof components.
 */
import { add, constant, div, dot, input, mul, sqrt, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import { lagrangianStepProgram } from '../integrators/methods.js';
import type { NeuralModel } from '../models/neural/model.js';
import type { Lagrangian } from '../system/lagrangian.js';
import type { FixedPointProblem } from '../integrators/step-program.js';
import type { LossColumn, LossGraph } from './losses.js';
import { DarbouxError } from '../errors.js';

/** Newton iterations per unrolled variational step (from the previous step's velocity: f32 rounding after 2–3). */
export const UNROLLED_NEWTON_ITERATIONS = 3;

/** Settings of `lnnWindowLossGraph`. */
export interface LnnWindowSettings {
  readonly method: string;
  readonly horizon: number;
  readonly dt: number;
  /** Newton iterations per variational step (default `UNROLLED_NEWTON_ITERATIONS`). */
  readonly newtonIterations?: number;
}

/** A window's loss graph with, for the variational methods, the Newton residual left by each step's unrolled solve. */
export interface LnnWindowGraph extends LossGraph {
  /**
   * Per step j (variational methods; empty for rk4): |R(v)| / (|p| + 1) after the last unrolled Newton iteration,
   * R(v) = p_n(v) − p the step's momentum equation (p_n = −D₁L_d), Euclidean norms. Reads q₀, v₀ and θ only.
   */
  readonly newtonResiduals: readonly Expr[];
}

/**
 * The window loss of an lnn as a per-sample `LossGraph` (name 'rollout'). Columns: q₀ ('q'), v₀ ('v'), the observed
 * positions after 1 … horizon steps ('qNext', horizon·dof) and, for rk4, the observed velocities ('pNext').
 * - rk4: the state (q, v) stepped by the program, loss mean of (q_j − Q_j)², (v_j − V_j)²;
 * - variational: p₀ = ∂L/∂v(q₀, v₀; θ), each step's velocity by `newtonIterations` Newton iterations of the
 *   program (exact Jacobian, pivoted solve) started from the previous step's velocity (v₀ for the first), loss mean
 *   of (q_j − Q_j)² and ((q_j − q_{j−1}) − (Q_j − Q_{j−1}))²/h². Reverse mode through the last Newton iteration at
 *   the converged velocity is the implicit-function-theorem derivative (the iterations before it cancel up to the
 *   residual), so the gradient is the exact discrete adjoint's to the solve's precision.
 *
 * @example
 * const graph = lnnWindowLossGraph(lnn({ dof: 1, hidden: [8], seed: 0 }), { method: 'variationalMidpoint', horizon: 4, dt: 0.1 });
 * graph.columns.map((c) => c.field); // ['q', 'v', 'qNext', 'qNext', 'qNext', 'qNext'] (one per step)
 */
export function lnnWindowLossGraph(model: NeuralModel, settings: LnnWindowSettings): LnnWindowGraph {
  const L = model.lagrangian;
  if (L === undefined) throw new DarbouxError('SPEC', 'fit: an lnn model without a Lagrangian cannot be trained on trajectories');
  const { method, horizon, dt } = settings;
  const n = model.dof;
  const columns: LossColumn[] = [
    { node: model.q, field: 'q', fieldWidth: n, offset: 0, width: n },
    { node: model.p, field: 'v', fieldWidth: n, offset: 0, width: n },
  ];
  const observed = (field: 'qNext' | 'pNext', j: number): Expr => {
    const node = input('aux', `train.${field}.${j * n}`, [n]);
    columns.push({ node, field, fieldWidth: horizon * n, offset: j * n, width: n });
    return node;
  };
  const pairs: [Expr, Expr][] = [];
  const newtonResiduals: Expr[] = [];
  if (method === 'rk4') {
    const program = lagrangianStepProgram(L, 'rk4');
    let q = model.q, v = model.p;
    const targets = Array.from({ length: horizon }, (_, j) => observed('qNext', j));
    const velocities = Array.from({ length: horizon }, (_, j) => observed('pNext', j));
    for (let j = 0; j < horizon; j++) {
      [q, v] = substitute([program.next.q, program.next.p], stepInputs(L, program.system.q, q, program.system.p, v, dt, j)) as [Expr, Expr];
      pairs.push([q, targets[j]!], [v, velocities[j]!]);
    }
  } else {
    const program = lagrangianStepProgram(L, method);
    const fixedPoint = program.implicit;
    if (fixedPoint?.iteration === undefined) throw new DarbouxError('OPTION', `fit: ${method} is not a variational method of a Lagrangian`);
    const velocity = fixedPoint.unknowns[0]!;
    let q = model.q, p = L.gradientExprs().dv, seed = model.p, previousTarget = model.q;
    for (let j = 0; j < horizon; j++) {
      const at = stepInputs(L, program.system.q, q, program.system.p, p, dt, j);
      let v = seed;
      for (let k = 0; k < (settings.newtonIterations ?? UNROLLED_NEWTON_ITERATIONS); k++) {
        v = substitute([fixedPoint.iteration[0]!], new Map([...at, [velocity, v]]))[0]!;
      }
      newtonResiduals.push(relativeResidual(fixedPoint, at, v, p));
      const [nextQ, nextP] = substitute([program.next.q, program.next.p], new Map([...at, [velocity, v]])) as [Expr, Expr];
      const target = observed('qNext', j);
      pairs.push([nextQ, target], [div(sub(nextQ, q), dt), div(sub(target, previousTarget), dt)]);
      [q, p, seed, previousTarget] = [nextQ, nextP, v, target];
    }
  }
  let total: Expr = constant(0);
  for (const [a, b] of pairs) {
    const e = sub(a, b);
    total = add(total, dot(e, e));
  }
  const loss = mul(1 / (horizon * 2 * n), total);
  return { name: 'rollout', loss, columns, stride: columns.reduce((s, c) => s + c.width, 0), newtonResiduals };
}

/** |R(v)| / (|p| + 1) of a variational step at the velocity v, with R(v) = v − update(v) (update = v − R). */
function relativeResidual(fixedPoint: FixedPointProblem, at: Map<Expr, Expr>, v: Expr, p: Expr): Expr {
  const velocity = fixedPoint.unknowns[0]!;
  const R = sub(v, substitute([fixedPoint.update[0]!], new Map([...at, [velocity, v]]))[0]!);
  return div(sqrt(dot(R, R)), add(sqrt(dot(p, p)), 1));
}

/** The substitutions of one step's inputs: the state (q, second), the step size and the step's start time. */
function stepInputs(L: Lagrangian, qNode: Expr, q: Expr, secondNode: Expr, second: Expr, dt: number, j: number): Map<Expr, Expr> {
  return new Map<Expr, Expr>([[qNode, q], [secondNode, second], [L.dt, constant(dt)], [L.time, constant(j * dt)]]);
}
