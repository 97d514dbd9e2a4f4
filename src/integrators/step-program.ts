import type { Expr } from '../ir/expr.js';
import type { Hamiltonian } from '../hamiltonian.js';

/**
 * One integrator step as a program over the IR: the next state as expressions of the inputs
 * (q, p, dt, t, θ). Explicit methods are pure expression DAGs, so every transform (JVP for exact
 * Jacobians, lowering to JS and WGSL) applies to the whole step at once.
 */
export interface StepProgram {
  readonly method: string;
  /** Classical order of accuracy. */
  readonly order: number;
  /** Whether the step is symmetric (time-reversible): Φ₋ₕ ∘ Φₕ = id. */
  readonly symmetric: boolean;
  readonly hamiltonian: Hamiltonian;
  /** State after one step of size dt starting at time t. */
  readonly next: { readonly q: Expr; readonly p: Expr };
}

/** Builds a step program for a Hamiltonian (throws if the method does not apply to it). */
export type StepBuilder = (h: Hamiltonian) => StepProgram;
