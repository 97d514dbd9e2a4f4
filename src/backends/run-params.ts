/**
 * Per-trajectory parameters of a run (`RunOptions.params`, `VjpOptions.params`): checked against the system's
 * parameters and aligned with them (a scalar: `batch` values; a tensor of k elements: batch·k values,
 * trajectory-major). The backends compile one kernel variant per SET of per-trajectory
 * parameter names (the others stay inlined constants), so a sweep over any number of values is one compile.
 */
import { closestName, DarbouxError, showValue } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import type { System } from '../system/system.js';
import { checkStateArray, type Precision } from './input-checks.js';

/** Parameter values per trajectory, aligned with a system's parameters. */
export interface TrajectoryParams {
  /** Indices into `system.params` of the parameters given per trajectory, ascending. */
  readonly indices: readonly number[];
  /** Their names, in the same order. */
  readonly names: readonly string[];
  /** Elements of each (1 for a scalar, k for a tensor of k elements). */
  readonly sizes: readonly number[];
  /** `values[j][b·k + e]`: element e of parameter `indices[j]` (k = sizes[j]) for trajectory b (length batch·k). */
  readonly values: readonly Float64Array[];
  /** The names joined: identifies the kernel variant that reads these parameters from a buffer. */
  readonly key: string;
}

/**
 * Checks `params` of a run or vjp and returns the per-trajectory values (null when none are given). Each entry
 * names a parameter of the system. A scalar takes a number (the same for every trajectory, overriding the
 * compiled value for this run) or an array of `batch` finite numbers; a tensor of k elements an array of batch·k
 * finite numbers (trajectory b's elements at b·k … b·k + k − 1). Unknown names are refused with OPTION (naming the
 * closest parameter), bad values with INPUT naming the index.
 *
 * @example
 * const tp = trajectoryParams(h, { lam: new Float64Array([0.5, 1]) }, 2); // { names: ['lam'], values: [Float64Array [0.5, 1]], … }
 */
export function trajectoryParams(system: System, given: unknown, batch: number, precision: Precision = 'f64'): TrajectoryParams | null {
  if (given === undefined) return null;
  if (given === null || typeof given !== 'object' || Array.isArray(given) || ArrayBuffer.isView(given)) {
    throw new DarbouxError('OPTION', `params must be an object { name: number | array of batch numbers }, got ${showValue(given)}`, { option: 'params', value: showValue(given) });
  }
  const byName = new Map<string, number>(system.params.map((node, k) => [node.attrs.name as string, k]));
  const chosen: { k: number; name: string; size: number; values: Float64Array }[] = [];
  for (const [name, value] of Object.entries(given)) {
    const k = byName.get(name);
    if (k === undefined) {
      const near = closestName(name, byName.keys());
      const known = [...byName.keys()].map((n) => `'${n}'`).join(', ') || 'none';
      throw new DarbouxError('OPTION', `params: unknown parameter ${showValue(name)}${near ? `; did you mean '${near}'?` : ''} (parameters: ${known})`, {
        option: 'params',
        name,
        ...(near ? { closest: near } : {}),
      });
    }
    const shape = system.params[k]!.shape;
    const size = shape.reduce((a, b) => a * b, 1);
    chosen.push({ k, name, size, values: shape.length === 0 ? trajectoryValues(`params.${name}`, value, batch, precision) : tensorValues(`params.${name}`, value, batch, shape, precision) });
  }
  if (chosen.length === 0) return null;
  chosen.sort((a, b) => a.k - b.k);
  const names = chosen.map((c) => c.name);
  return { indices: chosen.map((c) => c.k), names, sizes: chosen.map((c) => c.size), values: chosen.map((c) => c.values), key: names.join('\u0000') };
}

/** One parameter's values: a number broadcast to the batch, or `batch` finite numbers (INPUT naming the index). */
function trajectoryValues(name: string, value: unknown, batch: number, precision: Precision): Float64Array {
  if (typeof value === 'number') {
    checkStateArray(name, [value], 1, precision);
    return new Float64Array(batch).fill(value);
  }
  checkStateArray(name, value, batch, precision, `batch = ${batch} (one value per trajectory), or a single number`);
  return Float64Array.from(value);
}

/** A tensor parameter's values: batch·k finite numbers, trajectory-major (INPUT naming the index otherwise). */
function tensorValues(name: string, value: unknown, batch: number, shape: readonly number[], precision: Precision): Float64Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (typeof value === 'number') {
    throw new DarbouxError('INPUT', `${name} is a tensor parameter of shape [${shape.join(', ')}]: give batch·${size} = ${batch * size} numbers (trajectory b's elements at b·${size} …), not one number`, { name, shape: [...shape], batch });
  }
  checkStateArray(name, value, batch * size, precision, `batch·${size} = ${batch * size} (shape [${shape.join(', ')}] per trajectory, trajectory-major)`);
  return Float64Array.from(value);
}

/**
 * Where each per-trajectory parameter's block starts in a parameter-major array of `batch` trajectories
 * (block j: batch·sizes[j] values, trajectory-major), and the total length.
 *
 * @example
 * trajectoryParamBlocks({ sizes: [1, 3] }, 4); // { starts: [0, 4], length: 16 }
 */
export function trajectoryParamBlocks(tp: Pick<TrajectoryParams, 'sizes'>, batch: number): { starts: number[]; length: number } {
  const starts: number[] = [];
  let at = 0;
  for (const k of tp.sizes) {
    starts.push(at);
    at += k * batch;
  }
  return { starts, length: at };
}

/**
 * The per-trajectory values of trajectories `first … first + count − 1` (a chunk of the batch, or one trajectory).
 *
 * @example
 * const one = sliceTrajectoryParams(tp, 3, 1); // trajectory 3's values
 */
export function sliceTrajectoryParams(tp: TrajectoryParams, first: number, count: number): TrajectoryParams {
  return { ...tp, values: tp.values.map((v, j) => v.slice(first * tp.sizes[j]!, (first + count) * tp.sizes[j]!)) };
}

/**
 * The parameter nodes a kernel variant keeps as inputs (read per trajectory) instead of inlining.
 *
 * @example
 * const keep = keptParameters(h, tp); // Set { lam node }
 */
export function keptParameters(system: System, tp: TrajectoryParams | null): ReadonlySet<Expr> {
  return new Set(tp === null ? [] : tp.indices.map((k) => system.params[k]!));
}
