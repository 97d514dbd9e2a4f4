import type { Expr } from '../ir/expr.js';
import type { Hamiltonian } from '../system/hamiltonian.js';
import type { System } from '../system/system.js';

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
  /** How the method undoes a step (what `memory: 'reverse'` adjoints rebuild earlier states with). */
  readonly inverse: InverseRule;
  /** The system the step advances: its state, time, step-size and parameter inputs. */
  readonly system: System;
  /** State after one step of size dt starting at time t (may refer to the unknowns of `implicit`). */
  readonly next: { readonly q: Expr; readonly p: Expr };
  /** For implicit methods: the fixed-point problem solved at every step before `next` is evaluated. */
  readonly implicit?: FixedPointProblem;
  /**
   * For splitting methods of a separable H (leapfrog, its compositions, symplectic Euler): the sub-maps whose
   * composition, in order, is exactly `next`. Each one is trivially invertible and has a Jacobian that depends
   * only on the state it leaves unchanged, so backward steps can undo and differentiate it one stage at a time.
   */
  readonly splitting?: readonly SplittingStage[];
}

/**
 * How a method undoes one step Φₕ: 'negatedStep' for symmetric explicit methods (Φₕ⁻¹ = Φ₋ₕ started at t + h);
 * 'undoStages' for splitting methods (each kick and drift undone, last first); 'solve' for implicit methods
 * (Φₕ(zₙ) = zₙ₊₁ solved for zₙ together with the stages); 'none' where no inverse exists (rk4).
 */
export type InverseRule = 'negatedStep' | 'undoStages' | 'solve' | 'none';

/**
 * One sub-map of a splitting method: a kick p ← p − step·∇V(q, time) or a drift q ← q + step·∇T(p, time), with
 * `step` (c·dt) and `time` (t + τ·dt) expressions of the program's inputs dt and t.
 */
export interface SplittingStage {
  readonly kind: 'kick' | 'drift';
  /** ∇V(q, time) for a kick, ∇T(p, time) for a drift, as expressions of the system's inputs. */
  readonly force: Expr;
  readonly step: Expr;
  readonly time: Expr;
}

/**
 * A fixed point W = F(W; q, p, dt, t, θ) over one or more unknown vectors (aux input nodes). It is solved by
 * iteration from a predictor; derivatives go through it by the implicit function theorem, never by
 * differentiating the iterations.
 */
export interface FixedPointProblem {
  /** The unknown vectors (aux input nodes). */
  readonly unknowns: readonly Expr[];
  /** Predictor: starting values, as expressions of the step's inputs. */
  readonly initial: readonly Expr[];
  /** The map F, one expression per unknown. */
  readonly update: readonly Expr[];
  /**
   * The map actually iterated, with the same fixed points as `update` (default: `update` itself; Newton's
   * method when the step was built with `solver: 'newton'`). Derivatives always use `update`.
   */
  readonly iteration?: readonly Expr[];
  /** Name of the solver that built `iteration` (for statistics and messages). */
  readonly solver?: string;
  /**
   * Expressions whose max-norm (with the unknowns') sets the scale of the convergence test; default: the
   * state q, p. Problems whose unknowns are not in the state's units (adjoint solves) name their own.
   */
  readonly scale?: readonly Expr[];
}

/** Builds a step program for a Hamiltonian (throws if the method does not apply to it). */
export type StepBuilder = (h: Hamiltonian) => StepProgram;
