/** Static shapes: [] is a scalar, [n] a vector, [m, n] a matrix (row-major). */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar). @example size([2, 3]) // 6 */
export function size(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Shape equality. @example sameShape([2], [2]) // true */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Human-readable shape for error messages. @example showShape([]) // 'scalar'; showShape([3]) // '[3]' */
export function showShape(shape: Shape): string {
  return shape.length === 0 ? 'scalar' : `[${shape.join('×')}]`;
}

/** Whether a shape is a scalar. @example isScalar([]) // true */
export function isScalar(shape: Shape): boolean {
  return shape.length === 0;
}
