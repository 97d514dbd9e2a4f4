/**
 * Small dense linear algebra for Lagrangian systems: an f64 LU with partial pivoting and a condition estimate (the
 * host side of accelerations and the inverse Legendre map), and the same elimination as IR expressions, with the
 * pivot chosen at run time, for generated code (accelerations inside rk4, Newton's method of the variational steps).
 */
import { abs, add, div, mul, sign, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { isConstantValue } from '../ir/make.js';
import { DarbouxError } from '../errors.js';

/** ∂²L/∂v² with a condition number at or above this is refused as near-singular (about 1/(450·ε)). */
export const SINGULAR_CONDITION = 1e13;

/** An LU factorisation P·A = L·U of a dense n×n matrix (row-major), with its 1-norm condition number. */
export interface DenseLu {
  readonly n: number;
  /** L (unit lower, below the diagonal) and U (on and above it), row-major. */
  readonly lu: Float64Array;
  /** Row permutation: row k of P·A is row `pivots[k]` of A. */
  readonly pivots: Int32Array;
  /** κ₁(A) = ‖A‖₁‖A⁻¹‖₁ (Infinity when a pivot is exactly zero). */
  readonly condition: number;
}

/**
 * Factorises a dense row-major n×n matrix by Gaussian elimination with partial pivoting and computes its exact
 * 1-norm condition number (from A⁻¹, built column by column: n is small here). Never throws; check `condition`.
 *
 * @example
 * const f = luFactor(Float64Array.of(0, 1, 1, 0), 2); // a pivot swap; f.condition = 1
 * luSolve(f, Float64Array.of(2, 3)); // [3, 2]
 */
export function luFactor(A: ArrayLike<number>, n: number): DenseLu {
  const lu = Float64Array.from(A);
  const pivots = Int32Array.from({ length: n }, (_, i) => i);
  let singular = false;
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(lu[r * n + c]!) > Math.abs(lu[pivot * n + c]!)) pivot = r;
    if (pivot !== c) {
      for (let j = 0; j < n; j++) [lu[c * n + j], lu[pivot * n + j]] = [lu[pivot * n + j]!, lu[c * n + j]!];
      [pivots[c], pivots[pivot]] = [pivots[pivot]!, pivots[c]!];
    }
    const d = lu[c * n + c]!;
    if (d === 0 || !Number.isFinite(d)) {
      singular = true;
      continue;
    }
    for (let r = c + 1; r < n; r++) {
      const f = (lu[r * n + c]! /= d);
      if (f !== 0) for (let j = c + 1; j < n; j++) lu[r * n + j]! -= f * lu[c * n + j]!;
    }
  }
  const factor: DenseLu = { n, lu, pivots, condition: Infinity };
  if (singular) return factor;
  let normA = 0, normInv = 0;
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let colA = 0;
    for (let i = 0; i < n; i++) colA += Math.abs(A[i * n + j]!);
    normA = Math.max(normA, colA);
    e.fill(0);
    e[j] = 1;
    const x = luSolve(factor, e);
    normInv = Math.max(normInv, x.reduce((s, v) => s + Math.abs(v), 0));
  }
  const condition = normA * normInv;
  return { ...factor, condition: Number.isFinite(condition) ? condition : Infinity };
}

/**
 * Solves A·x = b with a factorisation from `luFactor` (a new array).
 *
 * @example
 * luSolve(luFactor(Float64Array.of(2, 0, 0, 4), 2), [2, 8]); // [1, 2]
 */
export function luSolve(f: DenseLu, b: ArrayLike<number>): Float64Array {
  const { n, lu, pivots } = f;
  const x = Float64Array.from({ length: n }, (_, i) => b[pivots[i]!]!);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) x[i]! -= lu[i * n + j]! * x[j]!;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = i + 1; j < n; j++) x[i]! -= lu[i * n + j]! * x[j]!;
    x[i]! /= lu[i * n + i]!;
  }
  return x;
}

/**
 * 1 where |a| > |b|, else 0 (exactly: t·(t+1)/2 with t = sign(|a| − |b|)), as an expression. Its derivative is
 * zero, so a blend by it differentiates like the branch it selects.
 */
function greaterMagnitude(a: Expr, b: Expr): Expr {
  const t = sign(sub(abs(a), abs(b)));
  return mul(0.5, mul(t, add(t, 1)));
}

/** (1 − s)·x + s·y for s ∈ {0, 1}: exactly x or y (no cancellation), with zeros folded. */
function blend(s: Expr, x: Expr, y: Expr): Expr {
  return add(mul(sub(1, s), x), mul(s, y));
}

/**
 * Solves A·x = b symbolically (small dense systems of scalar expressions) by Gaussian elimination with partial
 * pivoting decided at run time: each candidate row is compared with the current pivot row by magnitude and the
 * two rows are exchanged by an exact 0/1 blend, so the generated code (JS or WGSL, no branches) pivots like
 * LAPACK. Where the column is constant the comparison folds away at build time (a constant mass matrix costs
 * nothing). Suitable for indefinite matrices (Lorentzian metrics, v₀v₁ terms), not for singular ones: a zero pivot
 * gives non-finite values, which the runners report.
 *
 * @example
 * const [x, y] = pivotedSolve([[constant(0), constant(1)], [constant(1), constant(0)]], [constant(2), constant(3)]); // 3, 2
 */
export function pivotedSolve(A: readonly (readonly Expr[])[], b: readonly Expr[]): Expr[] {
  const m = b.length;
  if (A.length !== m || A.some((row) => row.length !== m) || [...A.flat(), ...b].some((e) => e.shape.length !== 0)) {
    throw new DarbouxError('SHAPE', `pivotedSolve: need an ${m}×${m} matrix of scalar expressions for ${m} right-hand sides`);
  }
  const rows = A.map((row, i) => [...row, b[i]!]);
  const isZero = (e: Expr) => isConstantValue(e, 0);
  for (let k = 0; k < m; k++) {
    for (let i = k + 1; i < m; i++) {
      if (isZero(rows[i]![k]!)) continue;
      const s = greaterMagnitude(rows[i]![k]!, rows[k]![k]!);
      if (isZero(s)) continue;
      const rk = rows[k]!, ri = rows[i]!;
      rows[k] = rk.map((x, j) => (j < k ? x : blend(s, x, ri[j]!)));
      rows[i] = ri.map((x, j) => (j < k ? x : blend(s, x, rk[j]!)));
    }
    const pivot = rows[k]![k]!;
    for (let i = k + 1; i < m; i++) {
      if (isZero(rows[i]![k]!)) continue;
      const factor = div(rows[i]![k]!, pivot);
      rows[i] = rows[i]!.map((x, j) => (j <= k || isZero(rows[k]![j]!) ? x : sub(x, mul(factor, rows[k]![j]!))));
    }
  }
  const x: Expr[] = new Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let acc = rows[i]![m]!;
    for (let j = i + 1; j < m; j++) if (!isZero(rows[i]![j]!)) acc = sub(acc, mul(rows[i]![j]!, x[j]!));
    x[i] = div(acc, rows[i]![i]!);
  }
  return x;
}
