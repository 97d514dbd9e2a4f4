/**
 * Graph Hamiltonian networks: n particles with the known kinetic energy Σ|p_i|²/(2m) and a learned pair
 * potential V_θ(r), an MLP of the distance, summed over all pairs i < j by the IR's pair reduction. V_θ depends on
 * the distances only, so H is invariant under translations, rotations and permutations of the particles for every
 * θ, and the graph of H (and of its training losses) has the same size for any n.
 */
import { DarbouxError, showValue } from '../../errors.js';
import { add, dot, input, matvec, mul } from '../../ir/build.js';
import type { Expr } from '../../ir/expr.js';
import { pairSum } from '../../ir/ops/pair-builders.js';
import { activate, activationNames, checkHidden, type Activation } from './layers.js';
import { NetworkModel } from './network-model.js';
import { glorot, ParamStore, zerosInit, type Initialiser } from './params.js';
import type { Random } from './random.js';

/** Options of `graphHnn`. */
export interface GraphHnnOptions {
  /** Number of particles. */
  n: number;
  /** Spatial dimension (q has n·dim coordinates, particle-major). */
  dim: number;
  /** Hidden layer widths of the pair-potential MLP, e.g. [32] (one layer: the fastest generated CPU code) or [16, 16]. */
  hidden: readonly number[];
  /** Pairs with r ≥ cutoff do not interact (required with a periodic box; at most half its smallest side). */
  cutoff?: number;
  /** With a cutoff: V_θ(r) − V_θ(cutoff), so the energy is continuous at the cutoff (default true). */
  shift?: boolean;
  /** Side lengths of an orthorhombic periodic box (minimum image); omitted: open boundaries. */
  box?: readonly number[];
  /** Particle mass of the kinetic energy Σ|p|²/(2m) (default 1). */
  mass?: number;
  /** Activation of the hidden layers (default 'tanh'); must be smooth, as forces are −∇V_θ. */
  activation?: Activation;
  /** Seed of the initial parameter values (default 0). */
  seed?: number;
}

interface CheckedOptions {
  n: number;
  dim: number;
  hidden: number[];
  cutoff: number | undefined;
  shift: boolean;
  box: number[] | undefined;
  mass: number;
  activation: Activation;
  seed: number;
}

/** Largest first-layer slope times the distance range (see `pairMlp`). */
const FIRST_LAYER_SLOPE = 32;

const finitePositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Validates the options (SPEC for the particles and box, OPTION for the network and cutoff). */
function checkOptions(options: GraphHnnOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) throw new DarbouxError('OPTION', 'graphHnn: expected an options object { n, dim, hidden, cutoff?, box?, mass?, activation?, seed? }');
  const { n, dim, cutoff, box, mass = 1, activation = 'tanh', seed = 0 } = options;
  if (!Number.isSafeInteger(n) || n < 2) throw new DarbouxError('SPEC', `graphHnn: n must be an integer ≥ 2 (a pair potential needs pairs), got ${showValue(n)}`, { n });
  if (!Number.isSafeInteger(dim) || dim < 1) throw new DarbouxError('SPEC', `graphHnn: dim must be a positive integer, got ${showValue(dim)}`, { dim });
  if (!finitePositive(mass)) throw new DarbouxError('SPEC', `graphHnn: mass must be a finite number > 0, got ${showValue(mass)}`, { mass });
  checkHidden(options.hidden);
  if (!activationNames().includes(activation)) {
    throw new DarbouxError('OPTION', `graphHnn: unknown activation ${showValue(activation)}; use ${activationNames().join(', ')}`, { activation });
  }
  if (!Number.isSafeInteger(seed)) throw new DarbouxError('OPTION', `graphHnn: seed must be an integer, got ${showValue(seed)}`, { seed });
  if (box !== undefined) {
    if (!Array.isArray(box) || box.length !== dim) throw new DarbouxError('SPEC', `graphHnn: box must list ${dim} side lengths (one per dimension)`, { box });
    const bad = box.findIndex((L) => !finitePositive(L));
    if (bad >= 0) throw new DarbouxError('SPEC', `graphHnn: box side ${bad} is ${showValue(box[bad])}; every side must be finite and > 0`, { box, side: bad });
  }
  if (cutoff !== undefined && !finitePositive(cutoff)) throw new DarbouxError('OPTION', `graphHnn: cutoff must be a finite number > 0, got ${showValue(cutoff)}`, { cutoff });
  if (box !== undefined) {
    const half = Math.min(...box) / 2;
    if (cutoff === undefined) throw new DarbouxError('OPTION', `graphHnn: a periodic box needs a cutoff (at most half the smallest side, ${half})`, { box });
    if (cutoff > half) throw new DarbouxError('OPTION', `graphHnn: cutoff ${cutoff} is above half the smallest box side (${half}); use a larger box or a smaller cutoff`, { cutoff, box });
  }
  const shift = options.shift ?? cutoff !== undefined;
  if (typeof shift !== 'boolean') throw new DarbouxError('OPTION', `graphHnn: shift must be a boolean, got ${showValue(shift)}`, { shift });
  if (shift && cutoff === undefined) throw new DarbouxError('OPTION', 'graphHnn: shift needs a cutoff to shift at', {});
  return { n, dim, hidden: [...options.hidden], cutoff, shift, box: box && [...box], mass, activation, seed };
}

/**
 * The first layer's bias, drawn so that each unit's transition w_k·r + b_k = 0 sits at a distance c_k uniform in
 * (0, range): the units' features then differ over the distances pairs are seen at (with zero biases they would all
 * turn at r = 0, outside the data).
 */
function spreadBias(weights: () => Float64Array, range: number): Initialiser {
  return {
    name: `spread(${range})`,
    sample(shape, random: Random) {
      const w = weights();
      return Float64Array.from({ length: shape[0]! }, (_, k) => -w[k]! * range * random.next());
    },
  };
}

/**
 * The pair-potential MLP V_θ(r) = w·σ(W_{L−1}·…σ(W_1·σ(a·r + b₀) + b₁)…), parameters `V.l0.W` [h₀] (a vector: the
 * input is the scalar r), `V.l0.b` [h₀], `V.l1.W` [h₁×h₀], `V.l1.b`, …, `V.out.w` [h_{L−1}]. No output bias: a
 * constant offset of V changes no force. The parameters are created here; the returned builder applies them to r.
 */
function pairMlp(store: ParamStore, hidden: readonly number[], activation: Activation, range: number): (r: Expr) => Expr {
  const first = hidden[0]!;
  // Sharp enough for a steep repulsive wall: slopes |a_k| up to SLOPE/range, i.e. transitions as narrow as range/SLOPE.
  const slope = FIRST_LAYER_SLOPE / range;
  let firstWeights = new Float64Array(0);
  const W0 = store.tensor('V.l0.W', [first], {
    name: `uniform(±${slope})`,
    sample: (shape, random) => (firstWeights = Float64Array.from({ length: shape[0]! }, () => slope * (2 * random.next() - 1))),
  });
  const b0 = store.tensor('V.l0.b', [first], spreadBias(() => firstWeights, range));
  const layers = hidden.slice(1).map((width, k) => ({
    W: store.tensor(`V.l${k + 1}.W`, [width, hidden[k]!], glorot()),
    b: store.tensor(`V.l${k + 1}.b`, [width], zerosInit()),
  }));
  const last = hidden[hidden.length - 1]!;
  const w = store.tensor('V.out.w', [last], glorot(), { fanIn: last, fanOut: 1 });
  return (r) => {
    let x = activate(add(mul(W0, r), b0), activation);
    for (const layer of layers) x = activate(add(matvec(layer.W, x), layer.b), activation);
    return dot(w, x);
  };
}

/**
 * A graph Hamiltonian network: H(q, p; θ) = Σ_i |p_i|²/(2m) + Σ_{i<j} V_θ(r_ij) with V_θ an MLP of the distance
 * (`V.l0.W`, `V.l0.b`, …, `V.out.w`), over all pairs (periodic box: minimum image; cutoff: pairs with r ≥ cutoff
 * skipped, V_θ shifted to 0 there by default). A model of kind 'hnn' with dof = n·dim: `fit` trains it by force
 * matching (the derivative loss, ṗ = forces) or on trajectories (leapfrog with the exact adjoint); its Hamiltonian
 * is separable, so leapfrog compiles. The graph of H has the same size for every n, so a model trained on a small
 * system runs a larger one with the same parameters: `graphHnn({ ...sameArchitecture, n: 4096, box }).withParams(res.params)`.
 * Initial values: first-layer slopes uniform in ±32/r_c and each unit's transition at a distance uniform in (0, r_c)
 * (r_c: the cutoff, or 3 without one), so the units can resolve a steep repulsive wall; deeper layers Glorot, biases 0.
 *
 * @example
 * const model = graphHnn({ n: 64, dim: 3, hidden: [32, 32], cutoff: 2.1, box: [L, L, L], seed: 0 });
 * const res = await fit(model, { q, p, dqdt, dpdt: forces }, { loss: 'derivative', steps: 500, lr: 3e-3 });
 * const st = await compile(res.hamiltonian!, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
 */
export function graphHnn(options: GraphHnnOptions): NetworkModel {
  const o = checkOptions(options);
  const dof = o.n * o.dim;
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  const store = new ParamStore(o.seed);
  const potential = pairMlp(store, o.hidden, o.activation, o.cutoff ?? 3);
  const V = pairSum(q, { n: o.n, dim: o.dim, potential, cutoff: o.cutoff, shift: o.shift, box: o.box });
  const H = add(mul(0.5 / o.mass, dot(p, p)), V);
  return new NetworkModel(
    {
      kind: 'hnn',
      dof,
      q,
      p,
      paramNodes: store.nodes(),
      options: { model: 'graphHnn', n: o.n, dim: o.dim, hidden: o.hidden, cutoff: o.cutoff, shift: o.shift, box: o.box, mass: o.mass, activation: o.activation, seed: o.seed },
      H,
    },
    store.values(),
  );
}
