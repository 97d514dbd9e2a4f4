/**
 * Split passes of the threaded CPU runner (src/backends/cpu/thread-split-source.ts, src/codegen/thread-split.ts):
 * the elementwise passes over the state run over each worker's range of shared arrays. Oracle: the same threaded
 * runner without split passes (`THREAD_SPLIT.enabled = false`), which must agree bit for bit — final states,
 * recorded frames, failures — on 2 and 3 threads, batches (a worker still storing one trajectory while another
 * loads the next), zero steps, windows of a few steps, a scalar pair sum inside the force, and a step that
 * overflows to infinity (the failure, and the last finite state left). Programs the split does not fit (implicit
 * methods, short states) are generated without it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { add, div, dot, exp, input, mul, param } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { stepProgram } from '../../src/integrators/methods.js';
import type { StepProgram } from '../../src/integrators/step-program.js';
import { compileThreadedRunner } from '../../src/backends/cpu/threaded-runner.js';
import { splitWidth, THREAD_SPLIT } from '../../src/backends/cpu/thread-split-source.js';
import { JS_FIXED_POINT } from '../../src/codegen/emit-js-stepper.js';
import { seededRandom } from './op-cases.js';
import { particles } from '../../src/index.js';

const eps = param('eps'), sig = param('sig');
const softV = (r: Expr) => mul(mul(eps, exp(div(mul(-1, mul(r, r)), sig))), add(1, r));
const BOX = [9.0, 9.3, 10.1];

/** H = p²/2 + V + c·V² (c ≠ 0: the pair sum V itself enters the force) of n particles in 3-d. */
function system(n: number, c: number, potential: (r: Expr) => Expr = softV) {
  const q = input('q', 'q', [n * 3]), p = input('p', 'p', [n * 3]);
  const V = pairSum(q, { n, dim: 3, potential, cutoff: 2.5, shift: false, box: BOX });
  return new Hamiltonian({ H: add(mul(0.5, dot(p, p)), c === 0 ? V : add(V, mul(c, mul(V, V)))), q, p, params: { eps: 1.3, sig: 0.8 } });
}

/** A run of `program` on `threads` workers, split or not: final Q, P, recorded frames and the status. */
async function run(program: StepProgram, threads: number, split: boolean, Q0: Float64Array, P0: Float64Array, batch: number, steps: number, recordEvery: number) {
  THREAD_SPLIT.enabled = split;
  const runner = compileThreadedRunner(program, JS_FIXED_POINT, threads);
  THREAD_SPLIT.enabled = true;
  try {
    const Q = Q0.slice(), P = P0.slice();
    const frames = recordEvery > 0 ? Math.floor(steps / recordEvery) * Q0.length : 0;
    const recordQ = recordEvery > 0 ? new Float64Array(frames) : null, recordP = recordEvery > 0 ? new Float64Array(frames) : null;
    const status = await runner.run(Q, P, program.system.paramValues, batch, steps, 0.005, 0, recordEvery, recordQ, recordP);
    return { Q, P, recordQ, recordP, status, split: runner.source.includes('threadFrom') };
  } finally {
    runner.dispose();
  }
}

const bits = (a: Float64Array | null) => (a === null ? null : Array.from(a, (x) => (Object.is(x, -0) ? '-0' : String(x))));

afterEach(() => { THREAD_SPLIT.enabled = true; });

describe('split passes of the threaded CPU runner', () => {
  it.each([
    { threads: 2, batch: 1, steps: 60, recordEvery: 7, c: 0 },
    { threads: 3, batch: 3, steps: 25, recordEvery: 5, c: 0.01 },
    { threads: 2, batch: 3, steps: 0, recordEvery: 0, c: 0 },
    { threads: 2, batch: 4, steps: 1, recordEvery: 1, c: 0.01 },
  ])('equal the unsplit runner bit for bit: $threads threads, batch $batch, $steps steps, c = $c', async ({ threads, batch, steps, recordEvery, c }) => {
    const n = 216, rng = seededRandom(11 + threads + batch);
    const program = stepProgram(system(n, c), 'leapfrog');
    const Q0 = Float64Array.from({ length: batch * n * 3 }, (_, k) => rng() * BOX[k % 3]!);
    const P0 = Float64Array.from({ length: batch * n * 3 }, () => 2 * (rng() - 0.5));
    const split = await run(program, threads, true, Q0, P0, batch, steps, recordEvery);
    const whole = await run(program, threads, false, Q0, P0, batch, steps, recordEvery);
    expect(split.split).toBe(true);
    expect(whole.split).toBe(false);
    expect(bits(split.Q)).toEqual(bits(whole.Q));
    expect(bits(split.P)).toEqual(bits(whole.P));
    expect(bits(split.recordQ)).toEqual(bits(whole.recordQ));
    expect(bits(split.recordP)).toEqual(bits(whole.recordP));
    expect(split.status).toEqual(whole.status);
    if (steps > 0) expect(bits(split.Q)).not.toEqual(bits(Q0)); // the state moved
    // The last recorded frame (every trajectory) is the final state.
    if (recordEvery > 0 && steps % recordEvery === 0) expect(bits(split.recordQ!.subarray(split.recordQ!.length - Q0.length))).toEqual(bits(split.Q));
  });

  it('a failing trajectory (two particles at one place: NaN forces): the same failure and state, the others run to the end', async () => {
    const n = 216, rng = seededRandom(3);
    const program = stepProgram(system(n, 0), 'leapfrog');
    const Q0 = Float64Array.from({ length: 3 * n * 3 }, (_, k) => rng() * BOX[k % 3]!), P0 = Float64Array.from({ length: 3 * n * 3 }, () => rng() - 0.5);
    Q0.copyWithin(n * 3 + 3, n * 3, n * 3 + 3); // trajectory 1: particle 1 on particle 0
    const split = await run(program, 2, true, Q0, P0, 3, 30, 0);
    const whole = await run(program, 2, false, Q0, P0, 3, 30, 0);
    expect(split.status.failures!.map((f) => f.trajectory)).toEqual([1]);
    expect(split.status).toEqual(whole.status);
    expect(bits(split.Q)).toEqual(bits(whole.Q));
    expect(bits(split.P)).toEqual(bits(whole.P));
    expect(split.Q.every(Number.isFinite)).toBe(true);
  });

  it('a particle system with bonds and an external field besides the pair potential (passes that read the whole state between split ones)', async () => {
    const n = 216, rng = seededRandom(8);
    const sys = particles({
      n, dim: 3, mass: 1.5, box: BOX,
      pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 0.5 }, cutoff: 2.5, shift: true },
      bonds: { edges: Array.from({ length: 50 }, (_, k) => [2 * k, 2 * k + 1] as [number, number]), V: 'k/2*(r - r0)^2', params: { k: 20, r0: 0.6 } },
      external: { V: 'g*z + a*x^2', params: { g: 0.3, a: 0.01 } },
    });
    const program = stepProgram(sys.hamiltonian, 'yoshida4');
    const Q0 = Float64Array.from({ length: 2 * n * 3 }, (_, k) => rng() * BOX[k % 3]!), P0 = Float64Array.from({ length: 2 * n * 3 }, () => rng() - 0.5);
    const split = await run(program, 2, true, Q0, P0, 2, 20, 4);
    const whole = await run(program, 2, false, Q0, P0, 2, 20, 4);
    expect(split.split).toBe(true);
    expect(split.status).toEqual(whole.status);
    expect(bits(split.Q)).toEqual(bits(whole.Q));
    expect(bits(split.P)).toEqual(bits(whole.P));
    expect(bits(split.recordQ)).toEqual(bits(whole.recordQ));
  });

  it('applies to explicit programs of long states only', () => {
    expect(splitWidth(stepProgram(system(216, 0), 'leapfrog'))).toBe(3);
    expect(splitWidth(stepProgram(system(216, 0), 'yoshida4'))).toBe(3);
    expect(splitWidth(stepProgram(system(216, 0), 'midpoint'))).toBeNull();
    expect(splitWidth(stepProgram(system(8, 0), 'leapfrog'))).toBeNull(); // 24 dof: unrolled registers
  });

  it('an implicit method on threads runs without split passes and equals its unsplit self', async () => {
    const n = 216, rng = seededRandom(4);
    const program = stepProgram(system(n, 0), 'midpoint');
    const Q0 = Float64Array.from({ length: n * 3 }, (_, k) => rng() * BOX[k % 3]!), P0 = Float64Array.from({ length: n * 3 }, () => rng() - 0.5);
    const a = await run(program, 2, true, Q0, P0, 1, 3, 0);
    expect(a.split).toBe(false);
    const b = await run(program, 2, false, Q0, P0, 1, 3, 0);
    expect(bits(a.Q)).toEqual(bits(b.Q));
  });
});
