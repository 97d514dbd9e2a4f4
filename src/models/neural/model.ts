import type { Expr } from '../../ir/expr.js';
import type { Hamiltonian } from '../../system/hamiltonian.js';
import type { Lagrangian } from '../../system/lagrangian.js';

/** Trained or initial parameter values: flat row-major number arrays keyed by parameter name (JSON-safe). */
export type ParamTensors = Record<string, number[]>;

/** Which kind of learned object a model is, which decides the losses it supports. */
export type NeuralKind = 'hnn' | 'mlpField' | 'sympnet' | 'lnn';

/**
 * A learnable model: expressions over the phase-space inputs q, p (vectors of length `dof`) and named parameter
 * input nodes, with current parameter values. `hnn` models are Hamiltonians (`hamiltonian`, vector field
 * J∇H); `mlpField` is an unconstrained vector field (non-symplectic baseline); `sympnet` is a learned one-step
 * map (q, p) ↦ (q′, p′) that is symplectic for every θ; `lnn` models are Lagrangians L(q, v) (the second state slot
 * holds the velocities).
 *
 * @example
 * const model = hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 0 });
 * const { q: qdot, p: pdot } = model.field();
 */
export interface NeuralModel {
  readonly kind: NeuralKind;
  readonly dof: number;
  /** Position input vector node [dof] (the same node the expressions use). */
  readonly q: Expr;
  /** Momentum input vector node [dof]. */
  readonly p: Expr;
  /** Parameter input nodes (role 'param'), in a stable order. */
  readonly paramNodes: readonly Expr[];
  /** Current values by name (flat row-major). */
  readonly params: ParamTensors;
  /** The options the model was built with (for saving; `seed` decides the initial values). */
  readonly options: Readonly<Record<string, unknown>>;
  /** The same architecture with other parameter values (missing names keep their values). */
  withParams(params: ParamTensors | Record<string, number | ArrayLike<number>>): NeuralModel;
  /** hnn: the Hamiltonian H(q, p; θ) with the current values (usable by `compile`). */
  readonly hamiltonian?: Hamiltonian;
  /** lnn: the learned Lagrangian L(q, v; θ) with the current values (usable by `compile`); `p` is then the velocity node. */
  readonly lagrangian?: Lagrangian;
  /** hnn and mlpField: time derivatives (q̇, ṗ) as expressions of q, p and the parameters. */
  field?(): { q: Expr; p: Expr };
  /** sympnet: the learned map's output (q′, p′) as expressions of q, p and the parameters. */
  map?(): { q: Expr; p: Expr };
}
