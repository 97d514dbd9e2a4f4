/**
 * Lagrangian neural networks (Cranmer et al. 2020): a scalar network L_θ(q, v) whose Euler–Lagrange equations give
 * the accelerations, and their Noether-invariant form (Müller 2023), whose input layer is the invariants of a
 * continuous symmetry, so the Noether charges of the learned L are conserved for every θ.
 */
import { DarbouxError } from '../../errors.js';
import { dot } from '../../ir/build.js';
import type { Expr } from '../../ir/expr.js';
import { Lagrangian } from '../../system/lagrangian.js';
import { configurationSpace } from '../../system/lagrangian-spec.js';
import { activate, activationNames, checkHidden, dense, type Activation } from './layers.js';
import { invariantCount, invariantLayer, lnnSymmetries, type LnnSymmetry } from './lnn-invariants.js';
import type { NeuralModel, ParamTensors } from './model.js';
import { initialiser, mergeParams, normal, ParamStore, type InitName, type Initialiser } from './params.js';

/** Options of `lnn`: an unconstrained network of `dof` coordinates, or `particles` × `dim` with a symmetry. */
export interface LnnOptions {
  /** Degrees of freedom (unconstrained LNN). Give this, or `particles` and `dim`. */
  dof?: number;
  /** Number of particles (Noether-invariant LNN; q and v are particle-major, dof = particles·dim). */
  particles?: number;
  /** Spatial dimension of each particle. */
  dim?: number;
  /** The symmetry the input layer enforces (default 'none'; needs `particles` and `dim` otherwise). */
  symmetry?: LnnSymmetry;
  /** Hidden layer widths, e.g. [128, 128]. */
  hidden: readonly number[];
  /** Activation of the hidden layers (default 'softplus'); must have a non-vanishing second derivative. */
  activation?: Activation;
  /** Seed of the initial parameter values (default 0). */
  seed?: number;
  /**
   * Weight initialiser: 'glorot' (default, as `hnn`; biases zero), 'cranmer' — normal with σ = 2/√n₁ for the first
   * hidden layer, 1/√nₖ for the further hidden layers and √n_last for the output weights (nₖ the width of layer k;
   * biases zero), the LNN scheme as Müller 2023 §3.1 states it (after Cranmer et al. 2020, whose own fitted constants
   * are not in our references) — or any initialiser of `hnn`. On small problems 'cranmer' starts with a near-singular
   * ∂²L/∂v² more often and needs a smaller lr (or clipNorm) than 'glorot'.
   */
  init?: 'cranmer' | InitName | Initialiser;
}

/** Piecewise-linear activations, refused with an explanation (∂²L/∂v² would vanish). */
const PIECEWISE_LINEAR = new Set(['relu', 'leakyRelu', 'leaky_relu', 'prelu', 'relu6', 'hardtanh', 'hardTanh', 'linear', 'identity', 'abs']);

/** The checked options. */
interface CheckedLnnOptions {
  dof: number;
  particles: number | undefined;
  dim: number | undefined;
  symmetry: LnnSymmetry;
  hidden: number[];
  activation: Activation;
  seed: number;
  init: 'cranmer' | Initialiser;
}

const positiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Validates the activation: smooth ones pass; piecewise-linear ones are refused with the reason. */
function checkActivation(activation: unknown): Activation {
  if (typeof activation === 'string' && PIECEWISE_LINEAR.has(activation)) {
    throw new DarbouxError(
      'OPTION',
      `lnn: activation '${activation}' is piecewise linear, so the network's second derivatives vanish almost everywhere ` +
        '(and are undefined at the kinks): ∂²L/∂v² would be zero, and the Euler–Lagrange equations ∂²L/∂v²·q̈ = ∂L/∂q − ∂²L/∂v∂q·v ' +
        `could not be solved for the accelerations. Use a smooth activation: ${activationNames().join(', ')} (softplus is the usual choice)`,
      { activation },
    );
  }
  if (!activationNames().includes(activation as Activation)) {
    throw new DarbouxError('OPTION', `lnn: unknown activation '${String(activation)}'; use ${activationNames().join(', ')}`, { activation });
  }
  return activation as Activation;
}

/** Validates `lnn` options (OPTION errors naming the field). */
function checkLnnOptions(options: LnnOptions): CheckedLnnOptions {
  if (options === null || typeof options !== 'object') throw new DarbouxError('OPTION', 'lnn: expected an options object { dof, hidden } or { particles, dim, symmetry, hidden }');
  const { dof, particles, dim, symmetry = 'none', activation = 'softplus', seed = 0 } = options;
  if (!lnnSymmetries().includes(symmetry)) throw new DarbouxError('OPTION', `lnn: unknown symmetry '${String(symmetry)}'; use ${lnnSymmetries().map((s) => `'${s}'`).join(', ')}`, { symmetry });
  checkHidden(options.hidden);
  const act = checkActivation(activation);
  if (!Number.isSafeInteger(seed)) throw new DarbouxError('OPTION', `lnn: seed must be an integer, got ${String(seed)}`, { seed });
  const init: 'cranmer' | Initialiser = options.init === 'cranmer' ? 'cranmer' : initialiser(options.init ?? 'glorot');
  const common = { hidden: [...options.hidden], activation: act, seed, init, symmetry };
  if (particles === undefined && dim === undefined) {
    if (symmetry !== 'none') throw new DarbouxError('OPTION', `lnn: symmetry '${symmetry}' needs particles and dim (the layout of q), e.g. { particles: 1, dim: 3 }`, { symmetry });
    if (!positiveInteger(dof)) throw new DarbouxError('OPTION', `lnn: dof must be a positive integer, got ${String(dof)}`, { dof });
    return { ...common, dof, particles: undefined, dim: undefined };
  }
  if (!positiveInteger(particles)) throw new DarbouxError('OPTION', `lnn: particles must be a positive integer, got ${String(particles)}`, { particles });
  if (!positiveInteger(dim)) throw new DarbouxError('OPTION', `lnn: dim must be a positive integer, got ${String(dim)}`, { dim });
  if ((symmetry === 'rotation' || symmetry === 'euclidean') && dim < 2) {
    throw new DarbouxError('OPTION', `lnn: symmetry '${symmetry}' needs dim ≥ 2 (SO(1) has no rotations)`, { dim });
  }
  if (dof !== undefined && dof !== particles * dim) {
    throw new DarbouxError('OPTION', `lnn: dof ${String(dof)} differs from particles × dim = ${particles * dim}; omit dof`, { dof, particles, dim });
  }
  return { ...common, dof: particles * dim, particles, dim };
}

/** The initialiser of hidden layer k of `layers`, and of the output weights (k = layers). */
function layerInit(init: 'cranmer' | Initialiser, k: number, hidden: readonly number[]): Initialiser {
  if (init !== 'cranmer') return init;
  if (k === hidden.length) return normal(Math.sqrt(hidden[k - 1]!));
  return normal((k === 0 ? 2 : 1) / Math.sqrt(hidden[k]!));
}

/** The architecture of an LNN: L and its nodes, shared by every `withParams` copy. */
interface LnnGraph {
  readonly L: Expr;
  readonly q: Expr;
  readonly v: Expr;
  readonly paramNodes: readonly Expr[];
  readonly inputs: number;
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * A Lagrangian network: a `NeuralModel` of kind 'lnn' whose `lagrangian` is a `Lagrangian` (compile it with
 * 'variationalMidpoint', 'variationalTrapezoid' or 'rk4'). The velocity node sits in the model's second state slot
 * (`p` is `v`, as in the Lagrangian's own `rk4` system); training data give `v`, not momenta.
 *
 * @example
 * const model = lnn({ dof: 1, hidden: [32], seed: 0 });
 * model.lagrangian.accelerations([1], [0]);
 */
export class LagrangianNetwork implements NeuralModel {
  readonly kind = 'lnn' as const;
  readonly dof: number;
  readonly q: Expr;
  /** The velocity input vector (the second state slot; the same node as `v`). */
  readonly p: Expr;
  readonly v: Expr;
  readonly paramNodes: readonly Expr[];
  readonly params: ParamTensors;
  readonly options: Readonly<Record<string, unknown>>;
  /** Inputs of the first dense layer (the invariants for a symmetric network; 2·dof otherwise). */
  readonly inputs: number;
  /** The learned Lagrangian with the current parameter values. */
  readonly lagrangian: Lagrangian;
  private readonly graph: LnnGraph;

  constructor(graph: LnnGraph, params: ParamTensors) {
    this.graph = graph;
    this.dof = graph.q.shape[0]!;
    this.q = graph.q;
    this.p = graph.v;
    this.v = graph.v;
    this.paramNodes = graph.paramNodes;
    this.inputs = graph.inputs;
    this.options = graph.options;
    this.params = Object.freeze(params);
    this.lagrangian = new Lagrangian({ L: graph.L, q: graph.q, v: graph.v, params });
  }

  /** The same architecture with other values (missing names keep theirs). @example model.withParams(res.params) */
  withParams(params: ParamTensors | Record<string, number | ArrayLike<number>>): LagrangianNetwork {
    return new LagrangianNetwork(this.graph, mergeParams(this.paramNodes, this.params, params));
  }
}

/**
 * A Lagrangian neural network L_θ(q, v): an MLP with a scalar output and no output bias (a constant in L changes no
 * dynamics). Unconstrained (`{ dof }`, Cranmer et al. 2020): the first layer reads q and v (parameters `L.l0.W0`
 * on q, `L.l0.W1` on v, `L.l0.b`, `L.l1.W`, …, `L.out.w`). Noether-invariant (`{ particles, dim, symmetry }`,
 * Müller 2023): the first layer reads the invariants of `invariantLayer` (parameter `L.l0.W`), so L is exactly
 * invariant under the symmetry for every θ and its Noether charges (`lagrangian.charge`) are conserved by the
 * variational integrators to rounding. Inputs per symmetry (P particles, D dimensions): none 2PD, translation
 * (2P−1)D, rotation n(n+1)/2 + C(n, D) with n = 2P, euclidean the same with n = 2P − 1 (Kepler, P = 1, D = 3:
 * rotation 3). Train with `fit(model, { q, v, a }, { loss: 'acceleration', … })`.
 *
 * Activations must be smooth with a non-vanishing second derivative (softplus default); relu and other
 * piecewise-linear ones are refused, since ∂²L/∂v² would vanish.
 *
 * @example
 * const model = lnn({ dof: 3, hidden: [32, 32], activation: 'softplus', seed: 0 });
 * const inv = lnn({ particles: 1, dim: 3, symmetry: 'rotation', hidden: [32, 32], seed: 0 });
 * inv.inputs; // 3: |q|², q·v, |v|²
 * const st = await compile(inv.lagrangian, { method: 'variationalMidpoint', dt: 0.01, backend: 'cpu' });
 */
export function lnn(options: LnnOptions): LagrangianNetwork {
  const o = checkLnnOptions(options);
  const space = configurationSpace(o.dof);
  const store = new ParamStore(o.seed);
  const symmetric = o.particles !== undefined && o.symmetry !== 'none';
  const first = symmetric ? invariantLayer(space.q, space.v, o.symmetry, o.particles!, o.dim!) : [space.q, space.v];
  const inputs = symmetric ? invariantCount(o.symmetry, o.particles!, o.dim!) : 2 * o.dof;
  let x: Expr | readonly Expr[] = first;
  o.hidden.forEach((width, k) => {
    x = activate(dense(store, `L.l${k}`, x, width, { init: layerInit(o.init, k, o.hidden) }), o.activation);
  });
  const h = x as unknown as Expr;
  const w = store.tensor('L.out.w', [h.shape[0]!], layerInit(o.init, o.hidden.length, o.hidden), { fanIn: h.shape[0]!, fanOut: 1 });
  const L = dot(w, h);
  const settings: Record<string, unknown> = {
    ...(o.particles === undefined ? { dof: o.dof } : { particles: o.particles, dim: o.dim, symmetry: o.symmetry }),
    hidden: o.hidden,
    activation: o.activation,
    seed: o.seed,
    init: o.init === 'cranmer' ? 'cranmer' : o.init.name,
  };
  return new LagrangianNetwork({ L, q: space.q, v: space.v, paramNodes: store.nodes(), inputs, options: settings }, store.values());
}
