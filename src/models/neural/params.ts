/**
 * Parameter store: named parameter tensors of a network, created with seeded initialisers. Each tensor is a
 * `param` input node of the IR (so the graph stays small: matrices are never scalarised) plus its values.
 */
import { DarbouxError, showValue } from '../../errors.js';
import { param } from '../../ir/build.js';
import type { Expr } from '../../ir/expr.js';
import { size, type Shape } from '../../ir/shape.js';
import type { ParamTensors } from './model.js';
import { createRandom, type Random } from './random.js';

/** Fan-in and fan-out of a weight tensor (for variance-scaling initialisers). */
export interface Fans {
  fanIn: number;
  fanOut: number;
}

/** How a tensor's initial values are drawn. */
export interface Initialiser {
  /** A short description, e.g. `glorot` or `normal(0.01)`. */
  readonly name: string;
  /** `size(shape)` values, row-major, drawn from `random`; `fans` overrides the fans derived from the shape. */
  sample(shape: Shape, random: Random, fans?: Fans): Float64Array;
}

/** Fans of a shape: a matrix [out, in] has fan-in `in` and fan-out `out`; a vector [n] has both n. @example fansOf([16, 2]) // { fanIn: 2, fanOut: 16 } */
export function fansOf(shape: Shape): Fans {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  return { fanIn: shape[1]!, fanOut: shape[0]! };
}

/**
 * Glorot (Xavier) uniform: U(−a, a) with a = √(6 / (fan_in + fan_out)).
 * @example store.tensor('W', [16, 2], glorot())
 */
export function glorot(): Initialiser {
  return {
    name: 'glorot',
    sample(shape, random, fans = fansOf(shape)) {
      const a = Math.sqrt(6 / (fans.fanIn + fans.fanOut));
      return Float64Array.from({ length: size(shape) }, () => a * (2 * random.next() - 1));
    },
  };
}

/**
 * He (Kaiming) normal: N(0, 2 / fan_in).
 * @example store.tensor('W', [16, 2], he())
 */
export function he(): Initialiser {
  return {
    name: 'he',
    sample(shape, random, fans = fansOf(shape)) {
      const std = Math.sqrt(2 / fans.fanIn);
      return Float64Array.from({ length: size(shape) }, () => std * random.normal());
    },
  };
}

/**
 * Normal N(0, std²) with a fixed standard deviation.
 * @example store.tensor('a', [8], normal(0.01))
 */
export function normal(std: number): Initialiser {
  if (!Number.isFinite(std) || std < 0) throw new DarbouxError('OPTION', `normal(std): std must be a finite number ≥ 0, got ${std}`);
  return {
    name: `normal(${std})`,
    sample: (shape, random) => Float64Array.from({ length: size(shape) }, () => std * random.normal()),
  };
}

/**
 * All zeros (the usual bias initialiser).
 * @example store.tensor('b', [16], zerosInit())
 */
export function zerosInit(): Initialiser {
  return { name: 'zeros', sample: (shape) => new Float64Array(size(shape)) };
}

/** The seeded initialisers by name. @example store.tensor('W', [8, 2], initialisers.normal(0.1)) */
export const initialisers = { glorot, he, normal, zeros: zerosInit } as const;

/** Initialiser names accepted by model options (JSON-safe), besides an `Initialiser` object. */
export type InitName = 'glorot' | 'he' | 'zeros' | `normal(${number})`;

/**
 * An `Initialiser` from a name (as stored in a model's options) or an object.
 * @example initialiser('he').name // 'he'; initialiser('normal(0.01)')
 */
export function initialiser(init: InitName | Initialiser): Initialiser {
  if (typeof init === 'object' && init !== null && typeof init.sample === 'function') return init;
  if (init === 'glorot') return glorot();
  if (init === 'he') return he();
  if (init === 'zeros') return zerosInit();
  const std = typeof init === 'string' ? /^normal\((.+)\)$/.exec(init)?.[1] : undefined;
  if (std !== undefined && std.trim() !== '' && Number.isFinite(Number(std))) return normal(Number(std));
  throw new DarbouxError('OPTION', `unknown initialiser ${showValue(init)}; use 'glorot', 'he', 'zeros' or normal(std)`);
}

/**
 * Named parameter tensors with seeded initial values. Each tensor draws from its own stream derived from the
 * store's seed and the tensor's name, so values do not depend on creation order and equal seeds give equal
 * values. `tensor` returns the `param` node to build expressions with; `values()` gives the JSON-safe values.
 *
 * @example
 * const store = new ParamStore(0);
 * const W = store.tensor('W', [16, 2], glorot());
 * const b = store.tensor('b', [16], zerosInit());
 * const hidden = tanh(add(matvec(W, q), b));
 * const h = hamiltonian(space, dot(hidden, hidden), { params: store.values() });
 */
export class ParamStore {
  private readonly random: Random;
  private readonly entries = new Map<string, { node: Expr; values: Float64Array }>();

  constructor(readonly seed = 0) {
    this.random = createRandom(seed);
  }

  /**
   * Creates the parameter `name` of `shape` with values from `init` (`fans` overrides the fans derived from the
   * shape, e.g. for a layer whose weight is split over several inputs). Names must be unique in a store.
   *
   * @example
   * const W = store.tensor('l0.W', [200, 2], glorot());
   */
  tensor(name: string, shape: Shape, init: InitName | Initialiser, fans?: Fans): Expr {
    if (typeof name !== 'string' || name.length === 0) throw new DarbouxError('SPEC', 'a parameter needs a non-empty name');
    if (this.entries.has(name)) throw new DarbouxError('SPEC', `parameter '${name}' is defined twice in one store`);
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new DarbouxError('SHAPE', `parameter '${name}': shape [${shape.join('×')}] needs positive integer dimensions`);
    }
    const node = param(name, [...shape]);
    const values = initialiser(init).sample(shape, this.random.fork(name), fans);
    this.entries.set(name, { node, values });
    return node;
  }

  /** Parameter nodes in creation order. @example store.nodes().map((n) => n.attrs.name) */
  nodes(): Expr[] {
    return [...this.entries.values()].map((e) => e.node);
  }

  /** Values by name as plain number arrays (JSON-safe copies). @example JSON.stringify(store.values()) */
  values(): ParamTensors {
    const out: ParamTensors = {};
    for (const [name, e] of this.entries) out[name] = Array.from(e.values);
    return out;
  }
}

/**
 * Checks replacement values against parameter nodes and merges them over `current`: unknown names are a SPEC
 * error, wrong lengths or non-finite values an INPUT error. Scalars may be given as plain numbers.
 *
 * @example
 * const next = mergeParams(model.paramNodes, model.params, { 'l0.b': new Array(200).fill(0) });
 */
export function mergeParams(
  nodes: readonly Expr[],
  current: ParamTensors,
  replacements: ParamTensors | Record<string, number | ArrayLike<number>>,
): ParamTensors {
  if (typeof replacements !== 'object' || replacements === null) {
    throw new DarbouxError('INPUT', 'withParams: expected an object of parameter values keyed by name');
  }
  const byName = new Map(nodes.map((n) => [n.attrs.name as string, n]));
  const out: ParamTensors = {};
  for (const [name, values] of Object.entries(current)) out[name] = values.slice();
  for (const [name, raw] of Object.entries(replacements)) {
    const node = byName.get(name);
    if (node === undefined) {
      throw new DarbouxError('SPEC', `withParams: unknown parameter '${name}'; this model has ${[...byName.keys()].join(', ')}`);
    }
    const values = typeof raw === 'number' ? [raw] : raw !== null && typeof raw === 'object' && typeof raw.length === 'number' ? Array.from(raw) : null;
    if (values === null) throw new DarbouxError('INPUT', `withParams: parameter '${name}' must be a number array, got ${typeof raw}`);
    const need = size(node.shape);
    if (values.length !== need) {
      throw new DarbouxError('INPUT', `withParams: parameter '${name}' of shape [${node.shape.join('×')}] needs ${need} values, got ${values.length}`);
    }
    const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) throw new DarbouxError('INPUT', `withParams: parameter '${name}' has a non-finite value at index ${bad} (${showValue(values[bad])})`);
    out[name] = values;
  }
  return out;
}
