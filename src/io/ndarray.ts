import { DarbouxError } from '../errors.js';

/**
 * A float64 array with a shape, row-major (C order): what the file readers return and the writers take.
 * `data.length` is the product of `shape` (1 for a scalar, `shape: []`).
 */
export interface NdArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/**
 * An {@link NdArray} from numbers and a shape, checked: every extent a non-negative integer, and as many
 * numbers as the shape holds.
 *
 * @example
 * const a = ndarray([1, 2, 3, 4, 5, 6], [2, 3]); // 2 rows × 3 columns
 */
export function ndarray(data: ArrayLike<number>, shape: readonly number[]): NdArray {
  const size = shapeSize(shape, 'ndarray');
  if (data.length !== size) {
    throw new DarbouxError('SHAPE', `ndarray: shape [${shape.join(', ')}] holds ${size} numbers, got ${data.length}`, { shape, length: data.length });
  }
  return { shape: [...shape], data: data instanceof Float64Array ? data : Float64Array.from(data) };
}

/**
 * The number of elements of a shape (1 for `[]`), refusing extents that are not non-negative safe integers.
 *
 * @example
 * shapeSize([3, 4, 2], 'q0') // 24
 */
export function shapeSize(shape: readonly number[], what: string): number {
  let size = 1;
  for (const n of shape) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new DarbouxError('SHAPE', `${what}: shape [${shape.join(', ')}] has an extent that is not a non-negative integer`, { shape });
    }
    size *= n;
  }
  if (!Number.isSafeInteger(size)) throw new DarbouxError('SHAPE', `${what}: shape [${shape.join(', ')}] is too large`, { shape });
  return size;
}

/**
 * The error every reader throws for a file it cannot read: code INPUT, naming the file and what is wrong.
 *
 * @example
 * throw corrupt('q0.npy', 'truncated .npy header');
 */
export function corrupt(what: string, problem: string, details: Record<string, unknown> = {}): DarbouxError {
  return new DarbouxError('INPUT', `${what}: ${problem}`, details);
}
