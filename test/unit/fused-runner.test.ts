/**
 * Loop fusion in the CPU runners of long states (src/codegen/loop-fusion.ts): a leapfrog step over an array state
 * with an elementwise force runs in ONE loop (half kick, drift, force, closing kick and the finiteness sum), and gives
 * bit for bit the trajectory of the same runner generated without fusion, and within rounding that of a
 * hand-written leapfrog. Particle runners (neighbour lists, remembered forces stored only in a call's last step):
 * two loops around the pair loops, fused ≡ unfused, and a run split into windows ≡ one call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { add, div, dot, input, mul, powi, sub, sum } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { stepProgram } from '../../src/integrators/methods.js';
import { compileJsRunner, type JsRunner } from '../../src/codegen/emit-js-stepper.js';
import { LOOP_FUSION, readsOnlyAtIndex } from '../../src/codegen/loop-fusion.js';
import { jitteredLattice } from './particle-fixtures.js';

afterEach(() => {
  LOOP_FUSION.enabled = true;
});

/** A chain of n anharmonic oscillators (elementwise V = Σ q²/2 + q⁴/4): no pair op, only elementwise tensors. */
function anharmonic(n: number) {
  const q = input('q', 'q', [n]), p = input('p', 'p', [n]);
  const V = sum(add(mul(0.5, mul(q, q)), mul(0.25, powi(q, 4))));
  return new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p });
}

/** n LJ particles in a periodic box of side L (cell lists from a few hundred sites). */
function ljParticles(n: number, L: number) {
  const q = input('q', 'q', [n * 3]), p = input('p', 'p', [n * 3]);
  const lj = (r: Expr) => mul(4, sub(powi(div(1, r), 12), powi(div(1, r), 6)));
  const V = pairSum(q, { n, dim: 3, potential: lj, box: [L, L, L], cutoff: 2.5, shift: false });
  return { h: new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p }), ...jitteredLattice(n, 3, L, 3) };
}

/** The runner's step loop (its source from `stepLoop:` on). */
const stepLoop = (run: JsRunner) => run.source.slice(run.source.indexOf('stepLoop:'));
/** Loops over `n` elements that the lowering emitted (index variables `v…i…`). */
const elementLoops = (text: string, n: number) => text.match(new RegExp(`for \\(let (v\\w*i\\d+) = 0; \\1 < ${n};`, 'g'))?.length ?? 0;

function runOf(run: JsRunner, q0: Float64Array, p0: Float64Array, steps: number, windows: (readonly [number, number])[] = [[0, steps]]) {
  const Q = Float64Array.from(q0), P = Float64Array.from(p0);
  for (const [from, to] of windows) {
    const status = run(Q, P, [], 1, steps, 0.01, 0, 0, null, null, 0, 1, from, to);
    expect(status.failures).toEqual([]);
  }
  return { Q, P };
}

describe('fused loops in the CPU runner of a long state', () => {
  const n = 300;
  const h = anharmonic(n);
  const q0 = Float64Array.from({ length: n }, (_, i) => Math.sin(0.37 * i + 0.1));
  const p0 = Float64Array.from({ length: n }, (_, i) => Math.cos(0.91 * i));
  /** `steps` of `method` fused and unfused (LOOP_FUSION off for the second compile): the two must agree bit for bit. */
  const fusedAndUnfused = (method: string, steps: number) => {
    const fused = runOf(compileJsRunner(stepProgram(h, method)), q0, p0, steps);
    LOOP_FUSION.enabled = false;
    const unfused = runOf(compileJsRunner(stepProgram(h, method)), q0, p0, steps);
    for (let i = 0; i < n; i++) {
      expect(fused.Q[i]).toBe(unfused.Q[i]);
      expect(fused.P[i]).toBe(unfused.P[i]);
    }
    return fused;
  };

  it('leapfrog: one loop per step, the finiteness sum inside it; unfused: loops of their own', () => {
    const fused = stepLoop(compileJsRunner(stepProgram(h, 'leapfrog')));
    LOOP_FUSION.enabled = false;
    const unfused = stepLoop(compileJsRunner(stepProgram(h, 'leapfrog')));
    expect(elementLoops(fused, n)).toBe(1);
    expect(fused).toMatch(/^\s*check \+= /m); // a statement of a fused loop body
    expect(fused).not.toMatch(/for \(let i = 0; i < 300; i\+\+\) check/);
    // The new state and the carried force handed over by swapping arrays (no copies).
    expect(fused).toMatch(/\{ const swapped = sqA; sqA = \w+; \w+ = swapped; \}/);
    expect(fused).toMatch(/\{ const swapped = spA; spA = \w+; \w+ = swapped; \}/);
    expect(fused.match(/const swapped/g)?.length).toBe(3);
    expect(fused).not.toMatch(/\.set\(/);
    expect(elementLoops(unfused, n)).toBeGreaterThanOrEqual(4);
    expect(unfused).toMatch(/for \(let i = 0; i < 300; i\+\+\) check/);
  });

  it('fused and unfused runners give the same bits; both follow a hand-written leapfrog to rounding', () => {
    const steps = 200;
    const fused = fusedAndUnfused('leapfrog', steps);
    // Oracle: kick–drift–kick with the force q + q³ written by hand.
    const q = Float64Array.from(q0), p = Float64Array.from(p0), dt = 0.01;
    const force = (x: number) => x + x * x * x;
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < n; i++) { p[i] = p[i]! - 0.5 * dt * force(q[i]!); q[i] = q[i]! + dt * p[i]!; p[i] = p[i]! - 0.5 * dt * force(q[i]!); }
    }
    for (let i = 0; i < n; i++) {
      expect(Math.abs(fused.Q[i]! - q[i]!)).toBeLessThan(1e-12);
      expect(Math.abs(fused.P[i]! - p[i]!)).toBeLessThan(1e-12);
    }
  });

  it('a non-finite state is still reported at its step, the registers left at the last finite state', () => {
    const run = compileJsRunner(stepProgram(h, 'leapfrog'));
    const Q = Float64Array.from(q0), P = Float64Array.from(p0);
    Q[17] = 1e60; // q⁴ overflows in the first closing force
    const status = run(Q, P, [], 1, 10, 0.01, 0, 0, null, null);
    expect(status.failures).toEqual([{ kind: 'nonfinite', step: 0, trajectory: 0 }]);
    expect(Q[17]).toBe(1e60);
    expect(Q[3]).toBe(q0[3]);
  });

  it('implicit midpoint (array unknowns, solve loops) gives the same bits fused and unfused', () => {
    fusedAndUnfused('midpoint', 20);
  });
});

describe('fused loops around the pair loops of a particle runner', () => {
  const { h, q0, p0 } = ljParticles(512, 9); // 3 bins of cutoff + skin per side: a neighbour list

  it('fused ≡ unfused, and windows of a run ≡ one call (the remembered force stored in a call’s last step)', () => {
    const steps = 40;
    const run = compileJsRunner(stepProgram(h, 'leapfrog'));
    expect(stepLoop(run)).toMatch(/if \(s === sTo - 1\) \{/);
    expect(elementLoops(stepLoop(run), q0.length)).toBe(2); // half kick and drift; closing kick and finiteness sum
    const one = runOf(run, q0, p0, steps);
    const windows = runOf(compileJsRunner(stepProgram(h, 'leapfrog')), q0, p0, steps, [[0, 1], [1, 13], [13, 14], [14, steps]]);
    LOOP_FUSION.enabled = false;
    const unfused = runOf(compileJsRunner(stepProgram(h, 'leapfrog')), q0, p0, steps);
    for (let i = 0; i < q0.length; i++) {
      expect(windows.Q[i]).toBe(one.Q[i]);
      expect(windows.P[i]).toBe(one.P[i]);
      expect(unfused.Q[i]).toBe(one.Q[i]);
      expect(unfused.P[i]).toBe(one.P[i]);
    }
  });
});

describe('readsOnlyAtIndex', () => {
  it('accepts reads of written arrays at the loop index only', () => {
    expect(readsOnlyAtIndex(['va3[vi1] = (va2[vi1] * 2);'], ['va2'], 'vi1')).toBe(true);
    expect(readsOnlyAtIndex(['va3[vi1] = va2[vi1 + 1];'], ['va2'], 'vi1')).toBe(false);
    expect(readsOnlyAtIndex(['va3[vi1] = va2[5];'], ['va2'], 'vi1')).toBe(false);
    expect(readsOnlyAtIndex(['f(va2);'], ['va2'], 'vi1')).toBe(false);
    expect(readsOnlyAtIndex(['va22[7] = va2x[3];'], ['va2'], 'vi1')).toBe(true); // other names
  });
});
