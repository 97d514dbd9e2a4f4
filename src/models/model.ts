import type { Expr } from '../ir/expr.js';
import type { Hamiltonian } from '../system/hamiltonian.js';

/** A model system: its Hamiltonian, a typical initial state and step size, and its conserved quantities. */
export interface Model {
  readonly name: string;
  readonly hamiltonian: Hamiltonian;
  /** A representative initial state. */
  readonly q0: readonly number[];
  readonly p0: readonly number[];
  /** A step size at which leapfrog is accurate to a few digits. */
  readonly dt: number;
  /** Conserved quantities besides H (Noether charges), as expressions in the Hamiltonian's q and p. */
  readonly invariants: Readonly<Record<string, Expr>>;
}
