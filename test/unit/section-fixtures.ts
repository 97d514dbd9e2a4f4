/** Starts of Hénon–Heiles orbits on the surface of section y = 0 with p_y > 0 at energy E (shared by the section tests). */

/**
 * `batch` states (x, y = 0, p_x, p_y = √(2E − x² − p_x²)) at energy E, spread over the allowed region of the
 * (x, p_x) plane by a deterministic sequence (`seed` shifts it).
 *
 * @example
 * const { q0, p0 } = henonHeilesSectionStarts(1 / 8, 16, 1);
 */
export function henonHeilesSectionStarts(E: number, batch: number, seed: number): { q0: Float64Array; p0: Float64Array } {
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  const r = Math.sqrt(2 * E);
  for (let b = 0; b < batch; b++) {
    // Golden-ratio points in the disc x² + p_x² < 0.9·2E.
    const u = ((b + seed) * 0.6180339887498949) % 1, v = ((b + seed) * 0.7548776662466927) % 1;
    const radius = Math.sqrt(0.9 * u) * r, angle = 2 * Math.PI * v;
    const x = radius * Math.cos(angle), px = radius * Math.sin(angle);
    q0[2 * b] = x;
    p0[2 * b] = px;
    p0[2 * b + 1] = Math.sqrt(2 * E - x * x - px * px);
  }
  return { q0, p0 };
}
