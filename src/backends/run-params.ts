/**
 * Per-trajectory parameters of a run (`RunOptions.params`, `VjpOptions.params`): checked against the system's
 * scalar parameters and aligned with them. The backends compile one kernel variant per SET of per-trajectory
 * parameter names (the others stay inlined constants), so a sweep over any number of values is one compile.
 */
import { closestName, DarbouxError, showValue } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import type { System } from '../system/system.js';
import { checkStateArray, type Precision } from './input-checks.js';

/** Scalar parameter values per trajectory, aligned with a system's parameters. */
export interface TrajectoryParams {
  /** Indices into `system.params` of the parameters given per trajectory, ascending. */
  readonly indices: readonly number[];
  /** Their names, in the same order. */
  readonly names: readonly string[];
  /** `values[j][b]`: parameter `indices[j]` for trajectory b (each of length `batch`). */
  readonly values: readonly Float64Array[];
  /** The names joined: identifies the kernel variant that reads these parameters from a buffer. */
  readonly key: string;
}

/**
 * Checks `params` of a run or vjp and returns the per-trajectory values (null when none are given). Each entry
 * names a scalar parameter of the system and is a number (the same for every trajectory, overriding the
 * compiled value for this run) or an array of `batch` finite numbers. Unknown names and tensor parameters are
 * refused with OPTION (naming the closest parameter), bad values with INPUT naming the index.
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
  const chosen: { k: number; name: string; values: Float64Array }[] = [];
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
    const node = system.params[k]!;
    if (node.shape.length !== 0) {
      throw new DarbouxError('OPTION', `params: '${name}' is a tensor parameter (shape [${node.shape.join(', ')}]); only scalar parameters can be given per trajectory. Set it for the whole stepper with withParams and compile again`, {
        option: 'params',
        name,
        shape: [...node.shape],
      });
    }
    chosen.push({ k, name, values: trajectoryValues(`params.${name}`, value, batch, precision) });
  }
  if (chosen.length === 0) return null;
  chosen.sort((a, b) => a.k - b.k);
  const names = chosen.map((c) => c.name);
  return { indices: chosen.map((c) => c.k), names, values: chosen.map((c) => c.values), key: names.join('\u0000') };
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

/**
 * The per-trajectory values of trajectories `first … first + count − 1` (a chunk of the batch, or one trajectory).
 *
 * @example
 * const one = sliceTrajectoryParams(tp, 3, 1); // trajectory 3's values
 */
export function sliceTrajectoryParams(tp: TrajectoryParams, first: number, count: number): TrajectoryParams {
  return { ...tp, values: tp.values.map((v) => v.slice(first, first + count)) };
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
