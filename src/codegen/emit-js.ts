import { DarbouxError } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { Lowering } from './lowering.js';
import { jsTarget } from './target-js.js';
import type { Value } from '../ir/op.js';

/** A compiled f64 function: reads flat input arrays, writes flat output arrays. */
export interface JsFunction {
  (inputs: readonly ArrayLike<number>[], outputs: readonly Float64Array[]): void;
  /** The generated JavaScript source. */
  readonly source: string;
}

/**
 * Compiles a graph to a JavaScript function (straight-line f64 code with one temporary per shared node, loops
 * for large tensor ops) through `new Function`, once. Input node k reads `inputs[k]`; output k is written
 * flat into `outputs[k]`. No user-chosen name reaches the source.
 *
 * @example
 * const f = compileJs([q, p], [H]);
 * const out = [new Float64Array(1)];
 * f([Float64Array.of(1, 0), Float64Array.of(0, 1)], out); // out[0][0] = H(q, p)
 */
export function compileJs(inputs: readonly Expr[], outputs: readonly Expr[]): JsFunction {
  const lowering = new Lowering(jsTarget);
  const prologue: string[] = [];
  inputs.forEach((node, k) => {
    const name = `in${k}`;
    prologue.push(`  const ${name} = inputs[${k}];`);
    lowering.bind(node, node.shape.length === 0 ? { kind: 'scalar', code: `${name}[0]` } : { kind: 'array', name, size: size(node.shape) });
  });
  const values = lowering.emit(outputs);
  const stores: string[] = [];
  outputs.forEach((out, k) => {
    stores.push(`  const out${k} = outputs[${k}];`);
    for (const line of storeValue(`out${k}`, values[k]!, size(out.shape))) stores.push(`  ${line}`);
  });
  const source = [
    '"use strict";',
    ...lowering.hoisted,
    'return function generated(inputs, outputs) {',
    ...prologue,
    ...lowering.lines,
    ...stores,
    '};',
  ].join('\n');
  const fn = compileGenerated<(i: readonly ArrayLike<number>[], o: readonly Float64Array[]) => void>(source, 'a compiled graph');
  return Object.assign(fn, { source }) as JsFunction;
}

/** Messages of the RangeErrors V8 throws when an array or a WebAssembly memory cannot be allocated or grown. */
export const OUT_OF_MEMORY = /allocation failed|invalid (typed )?array length|memory\.grow|maximum memory|out of memory|could not allocate/i;

/**
 * The `SPEC` DarbouxError for generated code that could not allocate its buffers (neighbour lists, WebAssembly
 * memories, arrays of n elements): the system or batch needs more memory than this engine gives.
 *
 * @example
 * outOfMemory('the leapfrog runner', 'WebAssembly.Memory.grow(): Maximum memory size exceeded').code; // 'SPEC'
 */
export function outOfMemory(what: string, message: string): DarbouxError {
  return new DarbouxError(
    'SPEC',
    `${what}: the generated code could not allocate its buffers (${message}): the system or batch needs more memory than this engine gives (a WebAssembly memory holds at most 4 GiB); use fewer particles, a smaller batch or a shorter recording`,
    { reason: message },
  );
}

/**
 * The function a generated module returns (`new Function(source)()`). V8 compiles a function on its first call,
 * and runs out of stack on one with more than about 10⁵ local declarations (measured on Node 20: 10⁵ `const`s
 * compile, 1.3·10⁵ do not, whatever the statement count): that overflow, at creation or at any call, becomes a
 * `SPEC` DarbouxError saying so instead of a raw RangeError.
 *
 * @example
 * const run = compileGenerated<(x: number) => number>('"use strict"; return function f(x) { return 2 * x; };', 'a test');
 * run(2); // 4
 */
export function compileGenerated<F extends (...args: never[]) => unknown>(source: string, what: string): F {
  const tooLarge = (e: unknown): unknown => {
    if (e instanceof RangeError && OUT_OF_MEMORY.test(e.message)) return outOfMemory(what, e.message);
    if (!(e instanceof RangeError && /call stack/i.test(e.message))) return e;
    return new DarbouxError(
      'SPEC',
      `${what}: the generated JavaScript (${source.length} characters) is too large for this engine to compile (it ran out of stack; V8 takes about 10⁵ temporaries per function): use a smaller Hamiltonian, or run node with a larger --stack-size`,
      { sourceLength: source.length },
    );
  };
  let fn: F;
  try {
    fn = new Function(source)() as F;
  } catch (e) {
    throw tooLarge(e);
  }
  return ((...args: Parameters<F>) => {
    try {
      return fn(...args);
    } catch (e) {
      throw tooLarge(e);
    }
  }) as F;
}

/**
 * Statements writing an emitted value into a flat array `target`.
 *
 * @example
 * storeValue('out0', { kind: 'unrolled', elems: ['t1', 't2'] }, 2); // ['out0[0] = t1;', 'out0[1] = t2;']
 */
export function storeValue(target: string, value: Value, n: number): string[] {
  if (value.kind === 'scalar') return [`${target}[0] = ${value.code};`];
  if (value.kind === 'unrolled') return value.elems.map((e, i) => `${target}[${i}] = ${e};`);
  if (value.kind === 'fused') return [`for (let i = 0; i < ${n}; i++) ${target}[i] = ${value.at('i')};`];
  return [`for (let i = 0; i < ${n}; i++) ${target}[i] = ${value.name}[i];`];
}
