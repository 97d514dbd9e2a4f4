import { DarbouxError } from '../errors.js';
import { constant, input } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { jvp } from '../autodiff/jvp.js';
import type { StepProgram } from './step-program.js';

/**
 * The tangent step of a program: (q, p, δq, δp) ↦ (δq′, δp′) = Φ′(q, p)·(δq, δp), by forward-mode
 * differentiation of the whole step (exact; no finite differences).
 *
 * @example
 * const { dq, dp } = tangentStep(program); // expressions in q, p, dt, t, θ and the tangent inputs
 */
export function tangentStep(program: StepProgram): { tq: Expr; tp: Expr; dq: Expr; dp: Expr } {
  if (program.implicit) {
    throw new DarbouxError(
      'INTERNAL',
      `tangentStep: '${program.method}' is implicit; its Jacobian goes through the implicit function theorem (implicitJacobianFunction)`,
      { method: program.method },
    );
  }
  const h = program.system;
  const tq = input('aux', 'tangent_q', [h.dof]);
  const tp = input('aux', 'tangent_p', [h.dof]);
  const [dq, dp] = jvp([program.next.q, program.next.p], new Map([[h.q, tq], [h.p, tp]]));
  return { tq, tp, dq: dq ?? constant(0, [h.dof]), dp: dp ?? constant(0, [h.dof]) };
}

/**
 * Assembles a (2n)×(2n) row-major Jacobian from a tangent map: column j is `tangent` applied to the j-th unit
 * vector (δq, δp), writing (δq′, δp′) into its output arrays.
 *
 * @example
 * const J = jacobianColumns(n, (uq, up, oq, op) => f([q, p, uq, up], [oq, op]));
 */
export function jacobianColumns(n: number, tangent: (uq: Float64Array, up: Float64Array, oq: Float64Array, op: Float64Array) => void): Float64Array {
  const m = 2 * n;
  const J = new Float64Array(m * m);
  const uq = new Float64Array(n), up = new Float64Array(n);
  const oq = new Float64Array(n), op = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    uq.fill(0);
    up.fill(0);
    if (j < n) uq[j] = 1;
    else up[j - n] = 1;
    tangent(uq, up, oq, op);
    for (let i = 0; i < n; i++) {
      J[i * m + j] = oq[i]!;
      J[(n + i) * m + j] = op[i]!;
    }
  }
  return J;
}

/**
 * ‖JᵀΩJ − Ω‖_max for a (2n)×(2n) row-major Jacobian, Ω = [[0, I], [−I, 0]]: zero for a symplectic map.
 *
 * @example
 * symplecticDefect(st.jacobian(q, p)) < 1e-12
 */
export function symplecticDefect(J: ArrayLike<number>): number {
  const m = Math.round(Math.sqrt(J.length)), n = m / 2;
  const omega = (i: number, k: number) => (i < n && k === i + n ? 1 : i >= n && k === i - n ? -1 : 0);
  let worst = 0;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      // (JᵀΩJ)_ab = Σ_ik J_ia Ω_ik J_kb, with Ω_ik nonzero only for k = i ± n.
      let s = 0;
      for (let i = 0; i < m; i++) {
        const k = i < n ? i + n : i - n;
        s += J[i * m + a]! * omega(i, k) * J[k * m + b]!;
      }
      worst = Math.max(worst, Math.abs(s - omega(a, b)));
    }
  }
  return worst;
}
