import type { Value } from '../ir/op.js';

/**
 * Element i of an emitted value.
 *
 * @example
 * elementOf({ kind: 'unrolled', elems: ['sq0', 'sq1'] }, 1);              // 'sq1'
 * elementOf({ kind: 'array', name: 'dParams', size: 4, offset: 2 }, 1); // 'dParams[2 + 1]'
 */
export function elementOf(v: Value, i: number): string {
  if (v.kind === 'scalar') return v.code;
  if (v.kind === 'unrolled') return v.elems[i]!;
  if (v.kind === 'fused') return v.at(i);
  const off = v.offset === undefined ? '' : `${v.offset} + `;
  return `${v.name}[${off}${i}]`;
}

/**
 * A pair of state vectors (a q-like and a p-like one) that a generated kernel keeps in registers across its
 * steps: the state z = (q, p), or the cotangent λ of a backward kernel. The kernel skeletons load it, advance it
 * after every step, test it for finiteness, and store it back.
 *
 * @example
 * const state: RegisterPair = { registers: [qv, pv], io: ['Q', 'P'], next: [nq, np], nextNames: ['nq', 'np'] };
 */
export interface RegisterPair {
  /** The registers: values bound to the pair's inputs in the lowering. */
  readonly registers: readonly [Value, Value];
  /**
   * Where the pair is loaded from before the step loop and stored to after it: the JS runner's array arguments,
   * or the names of the WGSL kernel's offsets into `dState` (see `WgslRegisterPair`); null when the kernel's
   * step loads the pair itself (a backward kernel over stored states).
   */
  readonly io: readonly [string, string] | null;
  /** The pair's values after a step, or null when the kernel does not advance it. */
  readonly next: readonly [Value, Value] | null;
  /** Names of the locals holding `next` (`nq` → nq0, nq1, …). */
  readonly nextNames: readonly [string, string];
}

/** Which way a kernel's step loop runs: forward over steps 0 … steps − 1, or backward from steps − 1 down to 0. */
export type StepDirection = 'forward' | 'backward';
