import { DarbouxError } from '../../errors.js';
import { constant, input } from '../../ir/build.js';
import type { Expr } from '../../ir/expr.js';
import { size } from '../../ir/shape.js';
import { jvp } from '../../autodiff/jvp.js';
import { compileJs } from '../../codegen/emit-js.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { StepProgram } from '../../integrators/step-program.js';

/**
 * Solves A·X = B in place for a dense row-major n×n A and n×k B (LU with partial pivoting).
 *
 * @example
 * const A = Float64Array.of(2, 0, 0, 4), B = Float64Array.of(2, 8);
 * solveDense(A, B, 2, 1); // B is now X = [1, 2]; A is overwritten
 */
export function solveDense(A: Float64Array, B: Float64Array, n: number, k: number): void {
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]!) > Math.abs(A[pivot * n + c]!)) pivot = r;
    if (A[pivot * n + c] === 0) throw new DarbouxError('NO_CONVERGENCE', 'the stage equations are singular (I − ∂F/∂W has no inverse)');
    if (pivot !== c) {
      for (let j = 0; j < n; j++) [A[c * n + j], A[pivot * n + j]] = [A[pivot * n + j]!, A[c * n + j]!];
      for (let j = 0; j < k; j++) [B[c * k + j], B[pivot * k + j]] = [B[pivot * k + j]!, B[c * k + j]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c]! / A[c * n + c]!;
      if (f === 0) continue;
      for (let j = c; j < n; j++) A[r * n + j]! -= f * A[c * n + j]!;
      for (let j = 0; j < k; j++) B[r * k + j]! -= f * B[c * k + j]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < k; j++) {
      let s = B[c * k + j]!;
      for (let r = c + 1; r < n; r++) s -= A[c * n + r]! * B[r * k + j]!;
      B[c * k + j] = s / A[c * n + c]!;
    }
  }
}

const zeroIfNull = (e: Expr | null, like: Expr) => e ?? constant(0, like.shape);

/**
 * The exact one-step Jacobian of an implicit program by the implicit function theorem: with W = F(W, z),
 * dW/dz = (I − ∂F/∂W)⁻¹ ∂F/∂z, and dz′/dz = ∂next/∂z + ∂next/∂W · dW/dz. All partial derivatives are
 * symbolic JVPs compiled to f64 code; W is solved to rounding first. Never differentiates the iterations.
 *
 * @example
 * const J = implicitJacobianFunction(midpointStep(h), JS_FIXED_POINT)(q, p, 0.01, 0);
 */
export function implicitJacobianFunction(program: StepProgram, settings: FixedPointSettings) {
  const h = program.system;
  const fp = program.implicit!;
  const n = h.dof, m2 = 2 * n;
  const U = fp.unknowns;
  const sizes = U.map((u) => size(u.shape));
  const M = sizes.reduce((a, b) => a + b, 0);
  const V = U.map((u, k) => input('aux', `tangent_w${k}`, u.shape));
  const tq = input('aux', 'tangent_q', [n]), tp = input('aux', 'tangent_p', [n]);
  const base = [h.q, h.p, h.dt, h.time];
  const initial = compileJs([...base, ...h.params], fp.initial);
  // The solve iterates the program's chosen map (Newton's when selected); derivatives use F itself.
  const update = compileJs([...base, ...U, ...h.params], fp.iteration ?? fp.update);
  const fW = compileJs([...base, ...U, ...V, ...h.params], jvp(fp.update, new Map(U.map((u, k) => [u, V[k]!]))).map((t, k) => zeroIfNull(t, fp.update[k]!)));
  const fz = compileJs([...base, ...U, tq, tp, ...h.params], jvp(fp.update, new Map([[h.q, tq], [h.p, tp]])).map((t, k) => zeroIfNull(t, fp.update[k]!)));
  const nextSeeds = new Map<Expr, Expr>([[h.q, tq], [h.p, tp], ...U.map((u, k) => [u, V[k]!] as [Expr, Expr])]);
  const roots = [program.next.q, program.next.p];
  const nextTangent = compileJs([...base, ...U, tq, tp, ...V, ...h.params], jvp(roots, nextSeeds).map((t, k) => zeroIfNull(t, roots[k]!)));
  const split = (flat: Float64Array) => {
    let at = 0;
    return sizes.map((s) => flat.subarray(at, (at += s)));
  };

  return (q: ArrayLike<number>, p: ArrayLike<number>, dt: number, t: number): Float64Array => {
    const head = [q, p, [dt], [t]];
    const W = sizes.map((s) => new Float64Array(s));
    initial([...head, ...h.paramValues], W);
    const Wn = sizes.map((s) => new Float64Array(s));
    let scale = 1e-300;
    for (const v of [...Array.from(q), ...Array.from(p), ...W.flatMap((w) => Array.from(w))]) scale = Math.max(scale, Math.abs(v));
    let previous = Infinity;
    for (let it = 1; ; it++) {
      update([...head, ...W, ...h.paramValues], Wn);
      let delta = 0;
      Wn.forEach((w, k) => w.forEach((v, i) => (delta = Math.max(delta, Math.abs(v - W[k]![i]!)))));
      Wn.forEach((w, k) => W[k]!.set(w));
      if (delta <= settings.tolerance * scale || (delta >= previous && delta <= 64 * settings.tolerance * scale)) break;
      if (it >= settings.maxIterations) {
        throw new DarbouxError('NO_CONVERGENCE', `${program.method}: jacobian: the stage equations did not converge (residual ${delta.toExponential(3)} after ${it} iterations)`);
      }
      previous = delta;
    }
    // A = I − ∂F/∂W, column by column.
    const A = new Float64Array(M * M);
    const unit = new Float64Array(M), out = sizes.map((s) => new Float64Array(s));
    for (let j = 0; j < M; j++) {
      unit.fill(0);
      unit[j] = 1;
      fW([...head, ...W, ...split(unit), ...h.paramValues], out);
      const col = Float64Array.from(out.flatMap((o) => Array.from(o)));
      for (let i = 0; i < M; i++) A[i * M + j] = (i === j ? 1 : 0) - col[i]!;
    }
    // Right-hand sides ∂F/∂z · e_j for the 2n unit directions.
    const rhs = new Float64Array(M * m2);
    const uq = new Float64Array(n), up = new Float64Array(n);
    const unitZ = (j: number) => {
      uq.fill(0);
      up.fill(0);
      if (j < n) uq[j] = 1;
      else up[j - n] = 1;
    };
    for (let j = 0; j < m2; j++) {
      unitZ(j);
      fz([...head, ...W, uq, up, ...h.paramValues], out);
      const col = out.flatMap((o) => Array.from(o));
      for (let i = 0; i < M; i++) rhs[i * m2 + j] = col[i]!;
    }
    solveDense(A, rhs, M, m2);
    const J = new Float64Array(m2 * m2);
    const oq = new Float64Array(n), op = new Float64Array(n), dW = new Float64Array(M);
    for (let j = 0; j < m2; j++) {
      unitZ(j);
      for (let i = 0; i < M; i++) dW[i] = rhs[i * m2 + j]!;
      nextTangent([...head, ...W, uq, up, ...split(dW), ...h.paramValues], [oq, op]);
      for (let i = 0; i < n; i++) {
        J[i * m2 + j] = oq[i]!;
        J[(n + i) * m2 + j] = op[i]!;
      }
    }
    return J;
  };
}
