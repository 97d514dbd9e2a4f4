/**
 * Hamiltonian neural networks (Greydanus, Dzamba & Yosinski 2019): a scalar network H(q, p; θ) whose
 * symplectic gradient J∇H is the vector field, so energy is conserved along the learned flow for every θ.
 */
import { DarbouxError, showValue } from '../../errors.js';
import { add } from '../../ir/build.js';
import { phaseSpace } from '../../system/dsl.js';
import { activationNames, checkHidden, mlpScalar, type Activation } from './layers.js';
import { NetworkModel } from './network-model.js';
import { initialiser, ParamStore, type InitName, type Initialiser } from './params.js';

/** Options of `hnn`. */
export interface HnnOptions {
  /** Degrees of freedom (length of q and of p). */
  dof: number;
  /** Hidden layer widths, e.g. [200]. */
  hidden: readonly number[];
  /** Activation of the hidden layers (default 'tanh'); must be smooth, since the field is ∇H. */
  activation?: Activation;
  /** Seed of the initial parameter values (default 0). */
  seed?: number;
  /** H = T(p; θ_T) + V(q; θ_V): two networks, structurally separable, so explicit methods (leapfrog) apply. */
  separable?: boolean;
  /** Weight initialiser (default Glorot uniform; biases start at zero). */
  init?: InitName | Initialiser;
}

/**
 * Validates the options shared by the MLP-based models (OPTION errors); returns dof, hidden, activation, seed.
 * @example const { dof, hidden } = checkMlpOptions('hnn', { dof: 1, hidden: [200] })
 */
export function checkMlpOptions(what: string, options: { dof: number; hidden: readonly number[]; activation?: Activation; seed?: number }) {
  if (typeof options !== 'object' || options === null) throw new DarbouxError('OPTION', `${what}: expected an options object`);
  const { dof, hidden, activation = 'tanh', seed = 0 } = options;
  if (!Number.isInteger(dof) || dof < 1) throw new DarbouxError('OPTION', `${what}: dof must be a positive integer, got ${showValue(dof)}`);
  checkHidden(hidden);
  if (!activationNames().includes(activation)) {
    throw new DarbouxError('OPTION', `${what}: unknown activation ${showValue(activation)}; use ${activationNames().join(', ')}`);
  }
  if (!Number.isSafeInteger(seed)) throw new DarbouxError('OPTION', `${what}: seed must be an integer, got ${showValue(seed)}`);
  return { dof, hidden: [...hidden], activation, seed };
}

/**
 * A Hamiltonian neural network. Non-separable (default): H = MLP([q; p]) with a scalar output, parameters
 * `H.l0.W0` (acting on q), `H.l0.W1` (on p), `H.l0.b`, `H.l1.W`, …, `H.out.w`; integrate it with an implicit
 * method (midpoint, gauss4, gauss6). With `separable: true`: H = T(p) + V(q), two MLPs with parameters `T.…`
 * and `V.…`, so `hamiltonian.isSeparable` holds and leapfrog and the compositions apply. There is no output
 * bias: a constant offset of H changes no dynamics. `field()` is (∂H/∂p, −∂H/∂q).
 *
 * @example
 * const model = hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 0 });
 * const st = await compile(model.hamiltonian!, { method: 'gauss4', dt: 0.1, backend: 'cpu' });
 */
export function hnn(options: HnnOptions): NetworkModel {
  const { dof, hidden, activation, seed } = checkMlpOptions('hnn', options);
  const separable = options.separable ?? false;
  if (typeof separable !== 'boolean') throw new DarbouxError('OPTION', `hnn: separable must be a boolean, got ${showValue(separable)}`);
  const init = initialiser(options.init ?? 'glorot');
  const space = phaseSpace(dof);
  const store = new ParamStore(seed);
  const H = separable
    ? add(mlpScalar(store, 'T.', space.p, hidden, activation, { init }), mlpScalar(store, 'V.', space.q, hidden, activation, { init }))
    : mlpScalar(store, 'H.', [space.q, space.p], hidden, activation, { init });
  return new NetworkModel(
    {
      kind: 'hnn',
      dof,
      q: space.q,
      p: space.p,
      paramNodes: store.nodes(),
      options: { dof, hidden, activation, seed, separable, init: init.name },
      H,
    },
    store.values(),
  );
}
