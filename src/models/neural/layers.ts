/**
 * Network layers as IR expressions: dense layers (matvec + bias), activations, MLPs. Weight matrices stay
 * matrix nodes (matvec), so the graph of an MLP has a handful of nodes per layer whatever its width.
 */
import { DarbouxError, showValue } from '../../errors.js';
import { addAll, dot, map, matvec, sigmoid, sin, softplus, tanh, type Scalar, type Vector } from '../../ir/build.js';
import type { Expr } from '../../ir/expr.js';
import { glorot, initialiser, zerosInit, type InitName, type Initialiser, type ParamStore } from './params.js';

/** Elementwise activation functions (all smooth, as Hamiltonian networks need C² activations). */
export type Activation = 'tanh' | 'softplus' | 'sigmoid' | 'sin';

const activations: Record<Activation, (x: Expr) => Expr> = { tanh, softplus, sigmoid, sin };

/** Activation names. @example activationNames() // ['tanh', 'softplus', 'sigmoid', 'sin'] */
export function activationNames(): Activation[] {
  return Object.keys(activations) as Activation[];
}

/**
 * Applies an activation elementwise to a vector (one node: elementwise ops act on whole tensors).
 * @example const h = activate(matvec(W, q), 'tanh')
 */
export function activate(x: Vector, activation: Activation): Vector {
  const f = Object.hasOwn(activations, activation) ? activations[activation] : undefined;
  if (f === undefined) {
    throw new DarbouxError('OPTION', `unknown activation ${showValue(activation)}; use ${activationNames().join(', ')}`);
  }
  return map(x, f);
}

/** Options of `dense`. */
export interface DenseOptions {
  /** Weight initialiser (default Glorot uniform). */
  init?: InitName | Initialiser;
  /** Whether the layer has a bias vector (default true; initialised to zeros). */
  bias?: boolean;
}

/**
 * A dense layer y = W·x + b with W of shape [outSize, inSize] and b of shape [outSize], parameters
 * `${name}.W` and `${name}.b`. Several inputs act as their concatenation, with one weight block per input
 * (`${name}.W0`, `${name}.W1`, …): W·[x₀; x₁] = W₀·x₀ + W₁·x₁, initialised with the fans of the whole
 * concatenated layer, so no concatenation op is needed.
 *
 * @example
 * const store = new ParamStore(0);
 * const { q, p } = phaseSpace(1);
 * const y = dense(store, 'l0', [q, p], 16); // W0 [16×1], W1 [16×1], b [16]
 */
export function dense(store: ParamStore, name: string, input: Vector | readonly Vector[], outSize: number, options: DenseOptions = {}): Vector {
  const inputs: readonly Vector[] = Array.isArray(input) ? input : [input as Vector];
  if (inputs.length === 0 || inputs.some((x) => x.shape.length !== 1)) {
    throw new DarbouxError('SHAPE', `dense '${name}': inputs must be one or more vectors`);
  }
  if (!Number.isInteger(outSize) || outSize < 1) throw new DarbouxError('OPTION', `dense '${name}': outSize must be a positive integer, got ${outSize}`);
  const init = initialiser(options.init ?? glorot());
  const fans = { fanIn: inputs.reduce((s, x) => s + x.shape[0]!, 0), fanOut: outSize };
  const terms: Expr[] = inputs.map((x, k) => {
    const W = store.tensor(inputs.length === 1 ? `${name}.W` : `${name}.W${k}`, [outSize, x.shape[0]!], init, fans);
    return matvec(W, x);
  });
  if (options.bias ?? true) terms.push(store.tensor(`${name}.b`, [outSize], zerosInit()));
  return addAll(terms);
}

/** Options of `mlp`. */
export interface MlpOptions {
  /** Weight initialiser of every layer (default Glorot uniform). */
  init?: InitName | Initialiser;
  /** Whether the output layer has a bias (default true). */
  outputBias?: boolean;
}

/**
 * The hidden part of a multilayer perceptron: dense layers `${prefix}l0`, `${prefix}l1`, … of the given
 * widths, each followed by the activation. Returns the last hidden vector.
 *
 * @example
 * const h = mlpHidden(store, 'H.', [q, p], [200], 'tanh'); // tanh(W0·q + W1·p + b), a vector [200]
 */
export function mlpHidden(
  store: ParamStore,
  prefix: string,
  input: Vector | readonly Vector[],
  hidden: readonly number[],
  activation: Activation,
  options: MlpOptions = {},
): Vector {
  checkHidden(hidden);
  let x: Vector | readonly Vector[] = input;
  hidden.forEach((width, k) => {
    x = activate(dense(store, `${prefix}l${k}`, x, width, { init: options.init }), activation);
  });
  return x as Vector;
}

/**
 * A multilayer perceptron: `mlpHidden` followed by a linear output layer `${prefix}out` of `outSize`.
 *
 * @example
 * const y = mlp(store, 'f.', [q, p], [64, 64], 2, 'tanh'); // a vector [2]
 */
export function mlp(
  store: ParamStore,
  prefix: string,
  input: Vector | readonly Vector[],
  hidden: readonly number[],
  outSize: number,
  activation: Activation,
  options: MlpOptions = {},
): Vector {
  const h = mlpHidden(store, prefix, input, hidden, activation, options);
  return dense(store, `${prefix}out`, h, outSize, { init: options.init, bias: options.outputBias ?? true });
}

/**
 * A scalar-valued MLP: `mlpHidden` followed by a weight vector `${prefix}out.w`, y = w·h (no output bias: a
 * constant offset of an energy changes no dynamics and would receive no gradient).
 *
 * @example
 * const H = mlpScalar(store, 'H.', [q, p], [200], 'tanh');
 */
export function mlpScalar(
  store: ParamStore,
  prefix: string,
  input: Vector | readonly Vector[],
  hidden: readonly number[],
  activation: Activation,
  options: Omit<MlpOptions, 'outputBias'> = {},
): Scalar {
  const h = mlpHidden(store, prefix, input, hidden, activation, options);
  const w = store.tensor(`${prefix}out.w`, [h.shape[0]!], initialiser(options.init ?? glorot()), { fanIn: h.shape[0]!, fanOut: 1 });
  return dot(w, h);
}

/** Validates hidden layer widths (OPTION error otherwise). @example checkHidden([200, 200]) */
export function checkHidden(hidden: unknown): asserts hidden is readonly number[] {
  if (!Array.isArray(hidden) || hidden.length === 0 || hidden.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new DarbouxError('OPTION', `hidden must be a non-empty array of positive integer widths, got ${JSON.stringify(hidden)}`);
  }
}
