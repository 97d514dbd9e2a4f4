/** Shared by the Lyapunov tests: an independent Benettin loop over the per-step Jacobian (the oracle). */
import type { Stepper } from '../../src/index.js';
import { orthonormalize, startingTangents } from '../../src/backends/lyapunov-options.js';

/**
 * An independent Benettin loop: one step at a time, the Jacobian from `st.jacobian` (for implicit methods the
 * per-step implicit function theorem of backends/cpu/implicit-jacobian.ts: a dense LU of I − ∂F/∂W per step), the
 * state from `st.run`, re-orthonormalised every `every` steps and at the end. Returns the exponents, largest first.
 *
 * @example
 * const reference = await referenceSpectrum(st, [0.1, 0], [0, 0.2], 60, 3, 7);
 */
export async function referenceSpectrum(st: Stepper, q0: number[], p0: number[], steps: number, count: number, every: number): Promise<number[]> {
  const n = q0.length, m = 2 * n;
  let q: Float64Array = Float64Array.from(q0), p: Float64Array = Float64Array.from(p0);
  const v = startingTangents(n, count), logs = new Float64Array(count), next = new Float64Array(m);
  for (let s = 0; s < steps; s++) {
    const J = st.jacobian(q, p, s * st.dt);
    for (let j = 0; j < count; j++) {
      for (let r = 0; r < m; r++) {
        let sum = 0;
        for (let c = 0; c < m; c++) sum += J[r * m + c]! * v[j * m + c]!;
        next[r] = sum;
      }
      v.set(next, j * m);
    }
    ({ q, p } = await st.run({ q0: q, p0: p, steps: 1, t0: s * st.dt }));
    if ((s + 1) % every === 0 || s + 1 === steps) orthonormalize(v, 0, m, count, logs, 0);
  }
  return Array.from(logs, (x) => x / (steps * st.dt)).sort((a, b) => b - a);
}
