/**
 * Split passes of the threaded CPU runner (`ThreadSplit`, src/ir/ops/pair-threads.ts; src/codegen/thread-split.ts):
 * which programs get them, the arrays that move to shared memory, and the preamble that gives each worker its
 * range and the cross-worker sum. With them, the elementwise passes over the state (kicks, drifts, the finiteness
 * sum) cost each of T workers 1/T of a pass instead of a whole one; results are bit-identical to the threaded runner
 * without them (the same operations per element; pair sums exchanged as before).
 */
import type { StepProgram } from '../../integrators/step-program.js';
import { topologicalOrder } from '../../ir/traverse.js';
import { geometry } from '../../ir/ops/pair-geometry.js';
import { THREAD_BARRIER, THREAD_FROM, THREAD_INDEX, THREAD_SUM, THREAD_TO, type PairThreads, type ThreadSplit } from '../../ir/ops/pair-threads.js';
import { UNROLL_STATE } from '../../codegen/js-kernel.js';

/**
 * Whether threaded runners split their elementwise passes (default true). Only for tests and measurements, which
 * compare split and unsplit runners (bit for bit): set it before compiling, restore it after.
 *
 * @example
 * THREAD_SPLIT.enabled = false; const unsplit = compileThreadedRunner(program, JS_FIXED_POINT, 2); THREAD_SPLIT.enabled = true;
 */
export const THREAD_SPLIT = { enabled: true };

/** The pair ops whose loops a threaded runner splits. */
const PAIR_OPS = new Set(['pairSum', 'pairGradient', 'pairHessianVector']);

/**
 * The site width (dim) by which `program`'s passes are split, or null when they are not: explicit programs of an
 * array state (over UNROLL_STATE elements) whose pair ops share one dimension dividing the state's length.
 *
 * @example
 * splitWidth(leapfrogStep(lj.hamiltonian)) // 3
 */
export function splitWidth(program: StepProgram): number | null {
  const dof = program.system.dof;
  if (!THREAD_SPLIT.enabled || program.implicit !== undefined || dof <= UNROLL_STATE) return null;
  const widths = new Set<number>();
  for (const node of topologicalOrder([program.next.q, program.next.p])) if (PAIR_OPS.has(node.op)) widths.add(geometry(node.attrs).dim);
  const [width] = widths;
  return widths.size === 1 && dof % width! === 0 ? width! : null;
}

/**
 * Moves the arrays of split passes to shared memory in a runner's `source`: the declaration of each array split
 * loops write, of the state registers and of every swapped array (`const name_ = …`, see array-swaps.ts) becomes
 * a view of a new shared array of `threads`. Returns null when one of them has no declaration of the expected form
 * (the caller then generates the runner without split passes).
 *
 * @example
 * const shared = shareSplitArrays(source, threads, split); // 'const va177 = threadShared2;' …
 */
export function shareSplitArrays(source: string, threads: PairThreads, split: ThreadSplit): string | null {
  const names = new Set([...split.writes, 'sqA', 'spA']);
  const declaration = /^const ([A-Za-z_][A-Za-z0-9_]*) = new Float64Array\((\d+)\);$/gm;
  const moved = new Set<string>();
  const out = source.replace(declaration, (line, declared: string, length: string) => {
    const name = declared.endsWith('_') ? declared.slice(0, -1) : declared;
    if (!names.has(name) && !declared.endsWith('_')) return line;
    moved.add(name);
    const view = `threadShared${threads.shared.length}`;
    threads.shared.push({ name: view, length: Number(length) });
    return `const ${declared} = ${view};`;
  });
  return [...names].every((name) => moved.has(name)) ? out : null;
}

/**
 * The preamble lines of split passes: this worker's range [threadFrom, threadTo) of whole sites of `split.width`
 * elements (sites divided evenly), and `threadSum(x)`: the sum of every worker's x in thread order (a barrier;
 * two alternating halves of a shared array, as pair-threads.ts's exchanges).
 *
 * @example
 * preamble.push(...splitPreamble(threads, split));
 */
export function splitPreamble(threads: PairThreads, split: ThreadSplit): string[] {
  const T = threads.count, sites = split.length / split.width;
  const sums = `threadShared${threads.shared.length}`;
  threads.shared.push({ name: sums, length: 2 * T });
  return [
    `const ${THREAD_FROM} = ${split.width} * Math.floor(${sites} * ${THREAD_INDEX} / ${T});`,
    `const ${THREAD_TO} = ${split.width} * Math.floor(${sites} * (${THREAD_INDEX} + 1) / ${T});`,
    `let threadSumHalf = 0;`,
    `function ${THREAD_SUM}(x) { const base = threadSumHalf * ${T}; threadSumHalf ^= 1; ${sums}[base + ${THREAD_INDEX}] = x; ${THREAD_BARRIER}(); let total = ${sums}[base]; for (let t = 1; t < ${T}; t++) total += ${sums}[base + t]; return total; }`,
  ];
}
