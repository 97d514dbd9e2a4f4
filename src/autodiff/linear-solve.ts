import { DarbouxError } from '../errors.js';
import { div, mul, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { isConstantValue } from '../ir/make.js';

/**
 * Solves A·x = b symbolically for small dense systems of scalar expressions, by Gaussian elimination without
 * pivoting (the systems darboux builds, I − h·∂F/∂W of a stage equation, are perturbations of the identity).
 * Entries that are symbolically zero are skipped, so sparse structure (e.g. a separable H) costs nothing; the
 * result is ordinary IR, lowered to JS and WGSL like any other expression.
 *
 * @example
 * const [x, y] = solveLinearSystem([[constant(2), constant(0)], [constant(0), constant(4)]], [constant(1), constant(2)]);
 * // x = 0.5, y = 0.5 (folded to constants)
 */
export function solveLinearSystem(A: readonly (readonly Expr[])[], b: readonly Expr[]): Expr[] {
  const m = b.length;
  if (A.length !== m || A.some((row) => row.length !== m)) {
    throw new DarbouxError('SHAPE', `solveLinearSystem: need an ${m}×${m} matrix for ${m} right-hand sides`);
  }
  for (const e of [...A.flat(), ...b]) {
    if (e.shape.length !== 0) throw new DarbouxError('SHAPE', 'solveLinearSystem: entries must be scalar expressions');
  }
  const a = A.map((row) => [...row]);
  const rhs = [...b];
  const isZero = (e: Expr) => isConstantValue(e, 0);
  for (let k = 0; k < m; k++) {
    const pivot = a[k]![k]!;
    if (isZero(pivot)) throw new DarbouxError('SPEC', `solveLinearSystem: structurally zero pivot at ${k} (no pivoting)`);
    for (let i = k + 1; i < m; i++) {
      if (isZero(a[i]![k]!)) continue;
      const factor = div(a[i]![k]!, pivot);
      for (let j = k + 1; j < m; j++) {
        if (!isZero(a[k]![j]!)) a[i]![j] = sub(a[i]![j]!, mul(factor, a[k]![j]!));
      }
      if (!isZero(rhs[k]!)) rhs[i] = sub(rhs[i]!, mul(factor, rhs[k]!));
    }
  }
  const x: Expr[] = new Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let acc = rhs[i]!;
    for (let j = i + 1; j < m; j++) if (!isZero(a[i]![j]!)) acc = sub(acc, mul(a[i]![j]!, x[j]!));
    x[i] = div(acc, a[i]![i]!);
  }
  return x;
}
