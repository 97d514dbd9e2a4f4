/**
 * One description of a target language (JavaScript f64, WGSL f32) for the shared lowering: literals,
 * declarations, loops, elementwise ops, the pieces of the fixed-point loop, array copies, and how a kernel built
 * by the target's kernel skeleton (`js-kernel.ts`, `wgsl-kernel.ts`) stops when a solve fails. Everything else
 * about lowering is shared. The instances are `jsTarget` and `wgslTarget`.
 */
import type { Attrs } from '../ir/expr.js';
import type { ElementwiseImpl } from '../ir/op.js';

/**
 * A target language of the lowering.
 *
 * @example
 * const lowering = new Lowering(wgslTarget, { prefix: 'v' });
 * wgslTarget.mutableDecl('w0', '0.0'); // 'var w0: f32 = 0.0;'
 */
export interface Target {
  readonly name: 'js' | 'wgsl';
  /** A numeric literal. */
  literal(v: number): string;
  /** Declaration of an immutable scalar temporary. */
  constDecl(name: string, code: string): string;
  /** Declaration of a mutable scalar (carried values, fixed-point unknowns and counters). */
  mutableDecl(name: string, code: string): string;
  /** Declaration of a scratch array, hoisted to the function (WGSL) or closure (JS) preamble. */
  arrayDecl(name: string, size: number): string;
  /** Declaration of an integer scratch array, hoisted like `arrayDecl`. */
  intArrayDecl(name: string, size: number): string;
  /** Declaration of a constant tensor, hoisted to module (WGSL) or closure (JS) scope. */
  constantArrayDecl(name: string, values: readonly number[]): string;
  /** Opens `for (i = 0; i < n; i++) {`. */
  loopOpen(i: string, n: number): string;
  /** Opens a loop without condition, left by `break` (the fixed-point iteration). */
  readonly unboundedLoopOpen: string;
  /** An elementwise op's code: the op's own rendering for this target, else its `code`, else a call of `impl.call`. */
  elementwise(impl: ElementwiseImpl, args: string[], attrs: Attrs): string;
  /** See {@link EmitContext.keepsLongVectorsUnrolled}. */
  readonly keepsLongVectorsUnrolled: boolean;
  abs(x: string): string;
  max(a: string, b: string): string;
  /** A value no update exceeds (the fixed-point loop's initial "previous update"). */
  readonly huge: string;
  /** Statement copying a whole array into another array of the same length. */
  copyArray(to: string, from: string): string;
  /** Statements run inside the fixed-point loop when the solve does not converge (they must leave that loop). */
  solveFailure(residual: string, iterations: string): string[];
  /** Statements run right after each solve (WGSL: leave the step loop when the solve failed). */
  readonly afterSolve: readonly string[];
}
