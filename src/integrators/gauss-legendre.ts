import { add, input, mul, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { substitute } from '../ir/traverse.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { StepProgram } from './step-program.js';

/** Butcher tableau of an s-stage collocation method. */
interface Tableau {
  a: number[][];
  b: number[];
  c: number[];
}

const r3 = Math.sqrt(3), r15 = Math.sqrt(15);

/** Gauss–Legendre tableaux: 1 stage (implicit midpoint, order 2), 2 stages (order 4), 3 stages (order 6). */
export const GAUSS_TABLEAUX: Record<1 | 2 | 3, Tableau> = {
  1: { a: [[0.5]], b: [1], c: [0.5] },
  2: {
    a: [[0.25, 0.25 - r3 / 6], [0.25 + r3 / 6, 0.25]],
    b: [0.5, 0.5],
    c: [0.5 - r3 / 6, 0.5 + r3 / 6],
  },
  3: {
    a: [
      [5 / 36, 2 / 9 - r15 / 15, 5 / 36 - r15 / 30],
      [5 / 36 + r15 / 24, 2 / 9, 5 / 36 - r15 / 24],
      [5 / 36 + r15 / 30, 2 / 9 + r15 / 15, 5 / 36],
    ],
    b: [5 / 18, 4 / 9, 5 / 18],
    c: [0.5 - r15 / 10, 0.5, 0.5 + r15 / 10],
  },
};

/**
 * s-stage Gauss–Legendre collocation for any H (symplectic, symmetric, order 2s), with the stage increments
 * ΔQᵢ, ΔPᵢ as unknowns (better rounding than stage values):
 *   ΔQᵢ = h Σⱼ aᵢⱼ ∂H/∂p(q + ΔQⱼ, p + ΔPⱼ, t + cⱼh),  ΔPᵢ = −h Σⱼ aᵢⱼ ∂H/∂q(…),
 *   q′ = q + h Σᵢ bᵢ ∂H/∂p(stage i),  p′ = p − h Σᵢ bᵢ ∂H/∂q(stage i).
 * The predictor is ΔZᵢ = cᵢ h f(z).
 *
 * @example
 * const program = gaussLegendreStep(h, 2); // 'gauss4'
 */
export function gaussLegendreStep(h: Hamiltonian, stages: 1 | 2 | 3): StepProgram {
  const { a, b, c } = GAUSS_TABLEAUX[stages];
  const { dq: Hq, dp: Hp } = h.gradientExprs();
  const n = h.dof;
  const dQ = Array.from({ length: stages }, (_, i) => input('aux', `stage${i}_dq`, [n]));
  const dP = Array.from({ length: stages }, (_, i) => input('aux', `stage${i}_dp`, [n]));
  const field = (i: number) => {
    const at = new Map<Expr, Expr>([[h.q, add(h.q, dQ[i]!)], [h.p, add(h.p, dP[i]!)], [h.time, add(h.time, mul(c[i]!, h.dt))]]);
    const [fq, fp] = substitute([Hp, Hq], at);
    return { q: fq!, p: fp! }; // q̇ = ∂H/∂p, ṗ = −∂H/∂q (sign applied below)
  };
  const f = Array.from({ length: stages }, (_, i) => field(i));
  const combine = (weights: number[], pick: (k: number) => Expr) => {
    let acc: Expr | null = null;
    weights.forEach((w, k) => {
      if (w === 0) return;
      const term = mul(w, pick(k));
      acc = acc === null ? term : add(acc, term);
    });
    return acc!;
  };
  const update: Expr[] = [];
  for (let i = 0; i < stages; i++) update.push(mul(h.dt, combine(a[i]!, (k) => f[k]!.q)));
  for (let i = 0; i < stages; i++) update.push(mul(mul(-1, h.dt), combine(a[i]!, (k) => f[k]!.p)));
  const [f0q, f0p] = [h.gradientExprs().dp, h.gradientExprs().dq];
  const initial = [...c.map((ci) => mul(mul(ci, h.dt), f0q)), ...c.map((ci) => mul(mul(-ci, h.dt), f0p))];
  const next = {
    q: add(h.q, mul(h.dt, combine(b, (k) => f[k]!.q))),
    p: sub(h.p, mul(h.dt, combine(b, (k) => f[k]!.p))),
  };
  const names = { 1: 'midpoint', 2: 'gauss4', 3: 'gauss6' } as const;
  return {
    method: names[stages],
    order: 2 * stages,
    symmetric: true,
    inverse: 'solve',
    system: h,
    next,
    implicit: { unknowns: [...dQ, ...dP], initial, update },
  };
}

/** Implicit midpoint rule (1-stage Gauss–Legendre), order 2, any H. @example compile(h, { method: 'midpoint', dt }) */
export const midpointStep = (h: Hamiltonian) => gaussLegendreStep(h, 1);
/** 2-stage Gauss–Legendre, order 4, any H. @example compile(h, { method: 'gauss4', dt }) */
export const gauss4Step = (h: Hamiltonian) => gaussLegendreStep(h, 2);
/** 3-stage Gauss–Legendre, order 6, any H. @example compile(h, { method: 'gauss6', dt }) */
export const gauss6Step = (h: Hamiltonian) => gaussLegendreStep(h, 3);
