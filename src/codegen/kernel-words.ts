/**
 * The words the GPU host and the WGSL kernels exchange, named in one place: the per-trajectory status words the
 * kernels write (and `backends/gpu/kernel-host.ts` decodes), their flags, and the layouts of the control uniforms
 * the host writes (and the kernels declare as `struct Control`).
 */

/** Threads per workgroup of every generated kernel. */
export const WORKGROUP_SIZE = 64;

/**
 * Per-trajectory status words, by name: `failure` (the failing step + 1, 0 for none, with the flags below in its
 * high bits), `iterationsTotal` and `iterationsMax` (fixed-point iterations over the run, summed and the
 * largest), `residual` (f32 bits of the last update of an unconverged solve).
 *
 * @example
 * const failure = status[b * STATUS_WORDS + STATUS_WORD.failure];
 */
export const STATUS_WORD = { failure: 0, iterationsTotal: 1, iterationsMax: 2, residual: 3 } as const;

/** A named status word. */
export type StatusWordName = keyof typeof STATUS_WORD;

/** Words of per-trajectory status (the length of `STATUS_WORD`). */
export const STATUS_WORDS = Object.keys(STATUS_WORD).length;

/** High bit of the status failure word: the implicit solve did not converge. */
export const NO_CONVERGENCE_FLAG = 0x80000000;
/**
 * Status flag of kernels that test the state only after their last step: the state was non-finite by the step in
 * the low bits (the exact step is found by running again with the per-step check).
 */
export const NONFINITE_BY_FLAG = 0x40000000;
/** Status flag: the step loop ended before its last step (the low bits hold the step it reached). */
export const TRUNCATED_FLAG = 0x20000000;

/**
 * The WGSL reference to one status word of the trajectory whose words start at `sBase` in `dStatus`.
 *
 * @example
 * statusWord('failure');       // 'dStatus[sBase]'
 * statusWord('iterationsMax'); // 'dStatus[sBase + 2u]'
 */
export function statusWord(name: StatusWordName): string {
  const k = STATUS_WORD[name];
  return k === 0 ? 'dStatus[sBase]' : `dStatus[sBase + ${k}u]`;
}

/** Layout of the control uniform of a stepper kernel (u32/f32 words, in order). */
export const STEPPER_CONTROL_WORDS = ['dt', 'tStart', 'steps', 'stepBase', 'offset', 'batch', 'recordEvery', 'recordCount'] as const;

/** Layout of the control uniform of a backward kernel (u32/f32 words, in order). */
export const ADJOINT_CONTROL_WORDS = ['dt', 'tStart', 'steps', 'stepBase', 'offset', 'batch', 'storedSteps', 'pad'] as const;

/** Control words holding f32 values; every other control word is a u32. */
const F32_CONTROL_WORDS: ReadonlySet<string> = new Set(['dt', 'tStart']);

/**
 * The WGSL type of a control word.
 *
 * @example
 * controlWordType('dt');    // 'f32'
 * controlWordType('steps'); // 'u32'
 */
export function controlWordType(word: string): 'f32' | 'u32' {
  return F32_CONTROL_WORDS.has(word) ? 'f32' : 'u32';
}

/**
 * The WGSL declaration of a control uniform's struct (four words a line); when there are several padding words `pad`,
 * each is named `pad<k>` by its index.
 *
 * @example
 * controlStruct(STEPPER_CONTROL_WORDS); // ['struct Control {', '  dt: f32, tStart: f32, steps: u32, stepBase: u32,', …, '}']
 */
export function controlStruct(words: readonly string[]): string[] {
  const lines: string[] = [], pads = words.filter((w) => w === 'pad').length;
  for (let at = 0; at < words.length; at += 4) {
    lines.push(`  ${words.slice(at, at + 4).map((w, k) => `${w === 'pad' && pads > 1 ? `pad${at + k}` : w}: ${controlWordType(w)}`).join(', ')},`);
  }
  return ['struct Control {', ...lines, '}'];
}
