/**
 * Per-sample loss graphs: one scalar expression of the sample's inputs (q, p and the targets, as aux input
 * nodes) and the model's parameters. The batch loss is the mean of the per-sample loss over the minibatch.
 */
import { DarbouxError, showValue } from '../errors.js';
import { add, constant, div, dot, input, mul, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import { stepProgram } from '../integrators/methods.js';
import type { NeuralModel } from '../models/neural/model.js';
import type { LossName, RolloutOptions } from './types.js';

/** Data fields a per-sample input column is filled from (`qRef`, `pRef`: the trajectory's first sample; `v`, `a`: an lnn's velocities and accelerations). */
export type DataField = 'q' | 'p' | 'v' | 'a' | 'dqdt' | 'dpdt' | 'qNext' | 'pNext' | 'qRef' | 'pRef';

/** One per-sample input: `node` (a vector) is filled from `field`, elements `offset … offset+width−1` of the sample. */
export interface LossColumn {
  node: Expr;
  field: DataField;
  /** Elements of `field` per sample (dof, or k·dof for rollout targets). */
  fieldWidth: number;
  offset: number;
  width: number;
}

/** A per-sample loss and the inputs it reads. */
export interface LossGraph {
  name: LossName;
  /** Scalar loss of one sample. */
  loss: Expr;
  /** Per-sample inputs, in record order. */
  columns: LossColumn[];
  /** Floats per packed sample record (the sum of column widths). */
  stride: number;
}

/** Settings of `lossGraph`. */
export interface LossSettings {
  loss: LossName;
  energyWeight?: number;
  rollout?: RolloutOptions;
}

/** Mean of squared differences over paired vectors (the components of every pair together). */
function meanSquaredError(pairs: readonly (readonly [Expr, Expr])[]): Expr {
  let total: Expr = constant(0);
  let count = 0;
  for (const [a, b] of pairs) {
    const e = sub(a, b);
    total = add(total, dot(e, e));
    count += a.shape[0]!;
  }
  return div(total, count);
}

/**
 * The per-sample loss of a model:
 *
 * - `derivative` (hnn, mlpField; Greydanus et al. 2019): the mean over the 2·dof components of
 *   (field(q, p; θ) − (q̇, ṗ))² — for an hnn the field is J∇H, so its θ-gradient differentiates ∇H again;
 * - `map` (sympnet): the mean over the 2·dof components of (map(q, p; θ) − (q′, p′))²;
 * - `rollout` (hnn: k steps of an explicit integrator substituted symbolically; sympnet: the map composed k
 *   times): the mean over the k·2·dof components of the predicted states after 1 … k steps minus the data.
 *
 * `energyWeight` w (hnn) adds w·(H(q, p) − H(q_ref, p_ref))² for the derivative loss (reference: the first
 * sample of the sample's trajectory, from `trajectoryIndex`) and w·mean_j (H(ẑ_j) − H(q, p))² over the
 * predicted states for the rollout loss.
 *
 * `acceleration` (lnn; Cranmer et al. 2020): the mean over the dof components of (q̈_θ(q, v) − a)², q̈_θ the
 * Euler–Lagrange accelerations of the learned L (`eulerLagrange().accelerations`, a pivoted solve with ∂²L/∂v²),
 * so its θ-gradient differentiates through the solve and the Hessian.
 *
 * @example
 * const g = lossGraph(model, { loss: 'derivative' });
 * g.columns.map((c) => c.field); // ['q', 'p', 'dqdt', 'dpdt']
 */
export function lossGraph(model: NeuralModel, settings: LossSettings): LossGraph {
  const { dof } = model;
  const columns: LossColumn[] = [];
  const column = (field: DataField, fieldWidth = dof, offset = 0): Expr => {
    const existing = columns.find((c) => c.field === field && c.offset === offset);
    if (existing) return existing.node;
    const node = field === 'q' ? model.q : field === 'p' || field === 'v' ? model.p : input('aux', `train.${field}.${offset}`, [dof]);
    columns.push({ node, field, fieldWidth, offset, width: dof });
    return node;
  };
  if (settings.loss === 'acceleration') return accelerationLoss(model, column, columns);
  const q = column('q'), p = column('p');
  const weight = settings.energyWeight ?? 0;
  const H = model.hamiltonian?.H;
  let loss: Expr;
  switch (settings.loss) {
    case 'derivative': {
      const field = need(model.field?.(), model, 'field()');
      loss = meanSquaredError([[field.q, column('dqdt')], [field.p, column('dpdt')]]);
      if (weight > 0) {
        const h = need(H, model, 'hamiltonian');
        const href = substitute([h], new Map([[q, column('qRef')], [p, column('pRef')]]))[0]!;
        const gap = sub(h, href);
        loss = add(loss, mul(weight, mul(gap, gap)));
      }
      break;
    }
    case 'map':
    case 'rollout': {
      const k = settings.loss === 'map' ? 1 : settings.rollout!.steps;
      const states = rolloutStates(model, settings.loss === 'map' ? undefined : settings.rollout!, k);
      const pairs: (readonly [Expr, Expr])[] = [];
      states.forEach((s, j) => {
        pairs.push([s.q, column('qNext', k * dof, j * dof)], [s.p, column('pNext', k * dof, j * dof)]);
      });
      loss = meanSquaredError(pairs);
      if (weight > 0) {
        const h = need(H, model, 'hamiltonian');
        let drift: Expr = constant(0);
        for (const s of states) {
          const gap = sub(substitute([h], new Map([[q, s.q], [p, s.p]]))[0]!, h);
          drift = add(drift, mul(gap, gap));
        }
        loss = add(loss, mul(weight / k, drift));
      }
      break;
    }
    default:
      throw new DarbouxError('OPTION', `unknown loss ${showValue(settings.loss)}; use 'derivative', 'map' or 'rollout'`);
  }
  if (loss.shape.length !== 0) throw new DarbouxError('SHAPE', `the ${settings.loss} loss is not a scalar (shape [${loss.shape.join('×')}])`);
  return { name: settings.loss, loss, columns, stride: columns.reduce((s, c) => s + c.width, 0) };
}

/** The acceleration loss of an lnn: columns q, v (the model's state nodes) and the target accelerations a. */
function accelerationLoss(model: NeuralModel, column: (field: DataField) => Expr, columns: LossColumn[]): LossGraph {
  const L = need(model.lagrangian, model, 'lagrangian');
  column('q');
  column('v');
  const loss = meanSquaredError([[L.eulerLagrange().accelerations, column('a')]]);
  return { name: 'acceleration', loss, columns, stride: columns.reduce((s, c) => s + c.width, 0) };
}

function need<T>(value: T | undefined, model: NeuralModel, what: string): T {
  if (value === undefined) throw new DarbouxError('SPEC', `a ${model.kind} model without ${what} cannot be trained with this loss`);
  return value;
}

/**
 * The predicted states after 1 … k steps from the sample's (q, p), as expressions of q, p and θ: the sympnet
 * map composed, or an explicit integrator's step program substituted into itself (dt and the time fixed).
 */
function rolloutStates(model: NeuralModel, rollout: RolloutOptions | undefined, k: number): { q: Expr; p: Expr }[] {
  let step: (q: Expr, p: Expr, j: number) => { q: Expr; p: Expr };
  if (model.kind === 'sympnet') {
    const map = need(model.map?.(), model, 'map()');
    step = (q, p) => {
      const [nq, np] = substitute([map.q, map.p], new Map([[model.q, q], [model.p, p]]));
      return { q: nq!, p: np! };
    };
  } else {
    const h = need(model.hamiltonian, model, 'hamiltonian');
    const program = stepProgram(h, rollout!.method!);
    if (program.implicit) {
      throw new DarbouxError(
        'OPTION',
        `the per-sample rollout loss substitutes explicit steps symbolically; for the implicit method '${program.method}' train on trajectories instead — fit(model, { trajectories }, { loss: 'rollout', method: '${program.method}', horizon, gradient: 'adjoint' }) differentiates it exactly by the adjoint — or use an explicit method`,
      );
    }
    const dt = rollout!.dt!;
    step = (q, p, j) => {
      const [nq, np] = substitute([program.next.q, program.next.p], new Map([[h.q, q], [h.p, p], [h.dt, constant(dt)], [h.time, constant(j * dt)]]));
      return { q: nq!, p: np! };
    };
  }
  const states: { q: Expr; p: Expr }[] = [];
  let q = model.q, p = model.p;
  for (let j = 0; j < k; j++) {
    ({ q, p } = step(q, p, j));
    states.push({ q, p });
  }
  return states;
}

