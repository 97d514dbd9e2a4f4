/**
 * SympNets (Jin, Zhang, Zhu, Zhang & Karniadakis 2020): learned maps (q, p) ↦ (q′, p′) composed of shears
 * whose Jacobians are unit triangular with a symmetric off-diagonal block, hence symplectic for every θ.
 */
import { DarbouxError, showValue } from '../../errors.js';
import { add, matTvec, matvec, mul, type Vector } from '../../ir/build.js';
import { phaseSpace } from '../../system/dsl.js';
import { activate, activationNames, type Activation } from './layers.js';
import { NetworkModel } from './network-model.js';
import { initialiser, normal, ParamStore, zerosInit, type InitName, type Initialiser } from './params.js';

/** Options of `sympnet`. */
export interface SympNetOptions {
  /** Degrees of freedom (length of q and of p). */
  dof: number;
  /** 'LA': linear and activation modules; 'G': gradient modules. */
  kind: 'LA' | 'G';
  /**
   * 'G': the number of gradient modules. 'LA': the number of linear modules; an activation module sits
   * between consecutive ones (2·layers − 1 modules in all), as in the reference implementation.
   */
  layers: number;
  /** 'G': the width of each gradient module (rows of K). Not used by 'LA' (its activation modules are dof wide). */
  width?: number;
  /** 'LA': unit triangular factors per linear module (default 2). */
  sublayers?: number;
  /** Activation σ (default 'sigmoid', as in the paper). */
  activation?: Activation;
  /** Seed of the initial parameter values (default 0). */
  seed?: number;
  /** Initialiser of K, a and the linear modules' A (default normal(0.01), as in the reference code); biases start at zero. */
  init?: InitName | Initialiser;
}

type State = { q: Vector; p: Vector };

/** up: p ← p + f(q); low: q ← q + f(p). Module i is 'up' for even i, 'low' for odd i. */
function shear(state: State, up: boolean, f: (x: Vector) => Vector): State {
  return up ? { q: state.q, p: add(state.p, f(state.q)) } : { q: add(state.q, f(state.p)), p: state.p };
}

/**
 * A SympNet: one step (q, p) ↦ (q′, p′) of a learned symplectic map, composed of shear modules that alternate
 * 'up' (p ← p + ∇V(q)) and 'low' (q ← q + ∇K(p)):
 * - 'G': gradient modules p ← p + Kᵀ diag(a) σ(K q + b) (and the low analogue), K [width × dof], parameters
 *   `g{i}.K`, `g{i}.a`, `g{i}.b`;
 * - 'LA': linear modules (`sublayers` factors p ← p + S q / q ← q + S p with S = A + Aᵀ symmetric, then a bias;
 *   parameters `lin{i}.A{j}`, `lin{i}.bq`, `lin{i}.bp`) alternating with activation modules p ← p + diag(a) σ(q)
 *   (parameters `act{i}.a`).
 *
 * There is no time-step parameter: the map is one step of a fixed size h, which is learned implicitly from
 * training pairs (z_t, z_{t+h}); to predict at another step size, train another network.
 *
 * @example
 * const net = sympnet({ dof: 1, kind: 'G', layers: 4, width: 16, seed: 0 });
 * const { q: q1, p: p1 } = net.map!();
 */
export function sympnet(options: SympNetOptions): NetworkModel {
  if (typeof options !== 'object' || options === null) throw new DarbouxError('OPTION', 'sympnet: expected an options object');
  const { dof, kind, layers, activation = 'sigmoid', seed = 0, sublayers = 2 } = options;
  const positive = (name: string, v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new DarbouxError('OPTION', `sympnet: ${name} must be a positive integer, got ${showValue(v)}`);
  };
  positive('dof', dof);
  positive('layers', layers);
  if (kind !== 'LA' && kind !== 'G') throw new DarbouxError('OPTION', `sympnet: kind must be 'LA' or 'G', got ${showValue(kind)}`);
  if (kind === 'G') positive('width', options.width);
  if (kind === 'LA') positive('sublayers', sublayers);
  if (!activationNames().includes(activation)) {
    throw new DarbouxError('OPTION', `sympnet: unknown activation ${showValue(activation)}; use ${activationNames().join(', ')}`);
  }
  if (!Number.isSafeInteger(seed)) throw new DarbouxError('OPTION', `sympnet: seed must be an integer, got ${showValue(seed)}`);
  const init = initialiser(options.init ?? normal(0.01));
  const space = phaseSpace(dof);
  const store = new ParamStore(seed);
  let state: State = { q: space.q, p: space.p };

  if (kind === 'G') {
    const width = options.width!;
    for (let i = 0; i < layers; i++) {
      const K = store.tensor(`g${i}.K`, [width, dof], init);
      const a = store.tensor(`g${i}.a`, [width], init);
      const b = store.tensor(`g${i}.b`, [width], zerosInit());
      state = shear(state, i % 2 === 0, (x) => matTvec(K, mul(a, activate(add(matvec(K, x), b), activation))));
    }
  } else {
    for (let i = 0; i < layers; i++) {
      for (let j = 0; j < sublayers; j++) {
        const A = store.tensor(`lin${i}.A${j}`, [dof, dof], init);
        state = shear(state, j % 2 === 0, (x) => add(matvec(A, x), matTvec(A, x)));
      }
      const bq = store.tensor(`lin${i}.bq`, [dof], zerosInit());
      const bp = store.tensor(`lin${i}.bp`, [dof], zerosInit());
      state = { q: add(state.q, bq), p: add(state.p, bp) };
      if (i < layers - 1) {
        const a = store.tensor(`act${i}.a`, [dof], init);
        state = shear(state, i % 2 === 0, (x) => mul(a, activate(x, activation)));
      }
    }
  }
  return new NetworkModel(
    {
      kind: 'sympnet',
      dof,
      q: space.q,
      p: space.p,
      paramNodes: store.nodes(),
      options: { dof, kind, layers, ...(kind === 'G' ? { width: options.width } : { sublayers }), activation, seed, init: init.name },
      map: state,
    },
    store.values(),
  );
}
