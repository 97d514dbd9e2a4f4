import { add, mul, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import { kickDriftKick, separableGradients } from './leapfrog.js';
import type { SplittingStage, StepProgram } from './step-program.js';

/**
 * A composition of leapfrog steps with sub-step coefficients c₁…c_s (Σcᵢ = 1). Adjacent half-kicks share
 * their force evaluation automatically: the same ∇V(q) node is interned once.
 *
 * @example
 * const program = leapfrogComposition(h, 'yoshida4', [1.3512071919596578, -1.7024143839193153, 1.3512071919596578], 4);
 */
export function leapfrogComposition(h: Hamiltonian, method: string, coefficients: readonly number[], order: number): StepProgram {
  separableGradients(h, method);
  let state = { q: h.q, p: h.p, t: h.time as Expr };
  const splitting: SplittingStage[] = [];
  for (const c of coefficients) {
    const sub = kickDriftKick(h, state.q, state.p, state.t, c);
    splitting.push(...sub.stages);
    state = sub;
  }
  return { method, order, symmetric: true, inverse: 'negatedStep', system: h, next: { q: state.q, p: state.p }, splitting };
}

/** Triple jump (Yoshida 1990): order 2k+2 from a symmetric order-2k method. */
function tripleJump(inner: readonly number[], order: number): number[] {
  const r = Math.pow(2, 1 / (order + 1));
  const w1 = 1 / (2 - r), w0 = -r / (2 - r);
  return [...inner.map((c) => c * w1), ...inner.map((c) => c * w0), ...inner.map((c) => c * w1)];
}

/** Suzuki's fractal (1990): order 2k+2 from order 2k with five sub-steps p, p, 1−4p, p, p. */
function suzukiFractal(inner: readonly number[], order: number): number[] {
  const p = 1 / (4 - Math.pow(4, 1 / (order + 1)));
  const scaled = (s: number) => inner.map((c) => c * s);
  return [...scaled(p), ...scaled(p), ...scaled(1 - 4 * p), ...scaled(p), ...scaled(p)];
}

/** Yoshida's 8th-order solution D (1990, Table 2): w₁…w₇, with w₀ = 1 − 2Σwᵢ. */
const YOSHIDA8 = [0.102799849391985, -0.196061023297549e1, 0.193813913762276e1, -0.158240635368243, -0.144485223686048e1, 0.253693336566229, 0.914844246229740];

/** Yoshida's fourth-order triple jump of leapfrog (3 stages). @example compile(h, { method: 'yoshida4', dt }) */
export const yoshida4Step = (h: Hamiltonian) => leapfrogComposition(h, 'yoshida4', tripleJump([1], 2), 4);

/** Suzuki's sixth-order fractal composition of leapfrog (25 stages). @example compile(h, { method: 'suzuki6', dt }) */
export const suzuki6Step = (h: Hamiltonian) => leapfrogComposition(h, 'suzuki6', suzukiFractal(suzukiFractal([1], 2), 4), 6);

/** Yoshida's eighth-order composition of leapfrog, solution D (15 stages). @example compile(h, { method: 'yoshida8', dt }) */
export const yoshida8Step = (h: Hamiltonian) => {
  const w0 = 1 - 2 * YOSHIDA8.reduce((s, w) => s + w, 0);
  const half = [...YOSHIDA8].reverse();
  return leapfrogComposition(h, 'yoshida8', [...half, w0, ...YOSHIDA8], 8);
};

/**
 * Symplectic Euler for separable H, order 1. Variant A: p′ = p − h∇V(q), q′ = q + h∇T(p′).
 * Variant B: q′ = q + h∇T(p), p′ = p − h∇V(q′). Each is the adjoint of the other.
 *
 * @example
 * compile(h, { method: 'symplecticEulerA', dt: 0.01 })
 */
export function symplecticEulerStep(variant: 'A' | 'B') {
  return (h: Hamiltonian): StepProgram => {
    const method = `symplecticEuler${variant}`;
    const { gradV, gradT } = separableGradients(h, method);
    const at = (e: Expr, q: Expr, p: Expr) => substitute([e], new Map([[h.q, q], [h.p, p]]))[0]!;
    let q: Expr, p: Expr;
    if (variant === 'A') {
      p = sub(h.p, mul(h.dt, at(gradV, h.q, h.p)));
      q = add(h.q, mul(h.dt, at(gradT, h.q, p)));
    } else {
      q = add(h.q, mul(h.dt, at(gradT, h.q, h.p)));
      p = sub(h.p, mul(h.dt, at(gradV, q, h.p)));
    }
    const kick: SplittingStage = { kind: 'kick', force: gradV, step: h.dt, time: h.time };
    const drift: SplittingStage = { kind: 'drift', force: gradT, step: h.dt, time: h.time };
    const splitting = variant === 'A' ? [kick, drift] : [drift, kick];
    return { method, order: 1, symmetric: false, inverse: 'undoStages', system: h, next: { q, p }, splitting };
  };
}
