/**
 * Register swaps of the forward JS runner over long states: at the end of a step the new state and the carried
 * arrays are handed over by exchanging arrays instead of copying them (three passes over the state fewer per
 * leapfrog step). The swapped names become locals of the runner (`let sqA = sqA_`), bound afresh to their hoisted
 * arrays at every call, so swaps never outlive a call. Only arrays that the step fills completely before reading
 * them (`Lowering.loopWritten`) are swapped with registers, each name once, and never a name that a hoisted
 * function or declaration reads.
 */
import type { Value } from '../ir/op.js';
import type { Lowering } from './lowering.js';

/** The swaps a runner makes at the end of each step: pairs (register, array of its new value). */
export class ArraySwaps {
  readonly pairs: [string, string][] = [];
  private readonly used = new Set<string>();

  /**
   * @param lowering the step's lowering (its hoisted declarations, the arrays its step fills)
   * @param n the length of the swapped arrays (the state's)
   * @example
   * const swaps = new ArraySwaps(lowering, h.dof);
   */
  constructor(private readonly lowering: Lowering, private readonly n: number) {}

  /**
   * Whether `register` may take `end`'s array by a swap: `end` a whole array of n elements that the step fills,
   * neither name swapped yet, and neither read by a hoisted function or declaration.
   *
   * @example
   * if (swaps.canSwap('sqA', next)) swaps.claim('sqA', next);
   */
  canSwap(register: string, end: Value): boolean {
    if (end.kind !== 'array' || (end.offset !== undefined && end.offset !== 0) || end.size !== this.n) return false;
    if (end.name === register || !this.lowering.loopWritten.has(end.name) || this.used.has(end.name) || this.used.has(register)) return false;
    return [register, end.name].every((name) => !this.hoistedReads(name));
  }

  /**
   * Records the swap of `register` with `end`'s array when `canSwap`; returns whether it did.
   *
   * @example
   * carries.assign(extra, JS_KERNEL_INDENT.step, (register, end) => swaps.claim(register, end));
   */
  claim(register: string, end: Value): boolean {
    if (!this.canSwap(register, end)) return false;
    const name = (end as { name: string }).name;
    this.pairs.push([register, name]);
    this.used.add(register).add(name);
    return true;
  }

  /** The swapped names (each pair's register and array). */
  get names(): string[] {
    return this.pairs.flat();
  }

  /** The declaration of a swapped name's hoisted array (`const name = new Float64Array(n);`), or of `name + suffix`. */
  declaration(name: string, suffix = ''): string {
    return `const ${name}${suffix} = new Float64Array(${this.n});`;
  }

  /** Whether a hoisted statement other than `name`'s own declaration mentions `name`. */
  private hoistedReads(name: string): boolean {
    const mention = new RegExp(`\\b${name}\\b`);
    return this.lowering.hoisted.some((line) => line !== this.declaration(name) && mention.test(line));
  }
}

/**
 * The runner's source parts for `swaps`: each swapped name's closure declaration renamed (`name_`), the locals
 * bound to them at the start of the call, and the swap statements (after the step's hand-over).
 *
 * @example
 * const { declare, locals, statements } = swapLines(swaps, '      ');
 */
export function swapLines(swaps: ArraySwaps, indent: string): { declare: (line: string) => string; locals: string[]; statements: string[] } {
  const names = new Set(swaps.names);
  const renamed = new Map([...names].map((name) => [swaps.declaration(name), swaps.declaration(name, '_')]));
  return {
    declare: (line) => renamed.get(line) ?? line,
    locals: names.size === 0 ? [] : [`  let ${[...names].map((name) => `${name} = ${name}_`).join(', ')};`],
    statements: swaps.pairs.map(([a, b]) => `${indent}{ const swapped = ${a}; ${a} = ${b}; ${b} = swapped; }`),
  };
}
