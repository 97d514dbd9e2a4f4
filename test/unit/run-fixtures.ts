/** Shared inputs of the run-control tests (CPU in test/unit, GPU in test/gpu). */
import { expect } from 'vitest';
import { DarbouxError } from '../../src/index.js';

/**
 * Eight Hénon–Heiles trajectories at dt = 0.05: 3 and 6 start above the escape energy (6 escapes first).
 *
 * @example
 * const { q0, p0, batch } = escapingBatch(); await st.run({ q0, p0, batch, steps: 2000, onFailure: 'report' });
 */
export function escapingBatch() {
  const batch = 8;
  const q0 = new Float64Array(2 * batch), p0 = new Float64Array(2 * batch);
  for (let b = 0; b < batch; b++) {
    q0[2 * b] = 0.1 + 0.01 * b; q0[2 * b + 1] = 0.05; p0[2 * b] = 0.1;
  }
  q0.set([0.6, 0.7], 6); p0.set([0.4, 0], 6);
  q0.set([0.9, 0.9], 12); p0.set([0.8, 0], 12);
  return { q0, p0, batch };
}

/**
 * The DarbouxError that `f` throws or rejects with (the test fails when it returns or throws anything else).
 *
 * @example
 * expect((await refusal(() => st.run({ q0: [NaN], p0: [0], steps: 1 }))).code).toBe('INPUT');
 */
export async function refusal(f: () => unknown): Promise<DarbouxError> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a DarbouxError').toBeInstanceOf(DarbouxError);
  return caught as DarbouxError;
}

/** Indices where two arrays differ as values (Object.is: -0 ≠ 0, NaN = NaN), and a length mismatch as -1. */
export function differences(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  if (a.length !== b.length) return [-1];
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}
