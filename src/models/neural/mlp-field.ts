/**
 * The unconstrained baseline of Greydanus et al.: an MLP that outputs the time derivatives directly. Its flow
 * is neither energy-conserving nor symplectic; it is the control the structured models are compared with.
 */
import { index, stack } from '../../ir/build.js';
import type { Expr } from '../../ir/expr.js';
import { phaseSpace } from '../../system/dsl.js';
import type { Activation } from './layers.js';
import { mlp } from './layers.js';
import { checkMlpOptions } from './hnn.js';
import { NetworkModel } from './network-model.js';
import { initialiser, ParamStore, type InitName, type Initialiser } from './params.js';

/** Options of `mlpField`. */
export interface MlpFieldOptions {
  /** Degrees of freedom (length of q and of p). */
  dof: number;
  /** Hidden layer widths, e.g. [200]. */
  hidden: readonly number[];
  /** Activation of the hidden layers (default 'tanh'). */
  activation?: Activation;
  /** Seed of the initial parameter values (default 0). */
  seed?: number;
  /** Weight initialiser (default Glorot uniform; biases start at zero). */
  init?: InitName | Initialiser;
}

/**
 * A vector field (q̇, ṗ) = MLP([q; p]): parameters `f.l0.W0` (acting on q), `f.l0.W1` (on p), `f.l0.b`, …,
 * and an output layer `f.out.W` [2·dof × width], `f.out.b` [2·dof] whose first dof outputs are q̇ and the
 * rest ṗ. No Hamiltonian: the non-symplectic control.
 *
 * @example
 * const base = mlpField({ dof: 1, hidden: [200], seed: 0 });
 * const { q: qdot, p: pdot } = base.field!();
 */
export function mlpField(options: MlpFieldOptions): NetworkModel {
  const { dof, hidden, activation, seed } = checkMlpOptions('mlpField', options);
  const init = initialiser(options.init ?? 'glorot');
  const space = phaseSpace(dof);
  const store = new ParamStore(seed);
  const y = mlp(store, 'f.', [space.q, space.p], hidden, 2 * dof, activation, { init });
  const part = (from: number): Expr => stack(Array.from({ length: dof }, (_, i) => index(y, from + i)));
  return new NetworkModel(
    {
      kind: 'mlpField',
      dof,
      q: space.q,
      p: space.p,
      paramNodes: store.nodes(),
      options: { dof, hidden, activation, seed, init: init.name },
      field: { q: part(0), p: part(dof) },
    },
    store.values(),
  );
}
