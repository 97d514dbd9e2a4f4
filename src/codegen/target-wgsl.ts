import { NO_CONVERGENCE_FLAG, statusWord } from './kernel-words.js';
import type { Target } from './target.js';

/**
 * A WGSL f32 literal: rounded to f32, always with a decimal point or exponent, negative values parenthesised.
 *
 * @example
 * wgslLiteral(2);    // '2.0'
 * wgslLiteral(-0.5); // '(-0.5)'
 */
export function wgslLiteral(v: number): string {
  const f = Math.fround(v);
  if (Number.isNaN(f)) return 'bitcast<f32>(0x7fc00000u)';
  if (f === Infinity) return 'bitcast<f32>(0x7f800000u)';
  if (f === -Infinity) return 'bitcast<f32>(0xff800000u)';
  let text = String(Math.abs(f));
  if (!/[.e]/.test(text)) text += '.0';
  return f < 0 || Object.is(f, -0) ? `(-${text})` : text;
}

/**
 * WGSL (f32). Scratch arrays are function-scope `var`s. A failed solve records step, iterations and residual in
 * the trajectory's status words, sets `failed` and leaves the step loop (`wgslKernelSkeleton`: `step`, `sBase`).
 *
 * @example
 * const lowering = new Lowering(wgslTarget, { prefix: 'v' });
 */
export const wgslTarget: Target = {
  name: 'wgsl',
  literal: wgslLiteral,
  constDecl: (name, code) => `let ${name} = ${code};`,
  mutableDecl: (name, code) => `var ${name}: f32 = ${code};`,
  arrayDecl: (name, n) => `var ${name}: array<f32, ${n}>;`,
  intArrayDecl: (name, n) => `var ${name}: array<i32, ${n}>;`,
  constantArrayDecl: (name, values) => `var<private> ${name}: array<f32, ${values.length}> = array<f32, ${values.length}>(${values.map(wgslLiteral).join(', ')});`,
  loopOpen: (i, n) => `for (var ${i}: i32 = 0; ${i} < ${n}; ${i}++) {`,
  unboundedLoopOpen: 'loop {',
  keepsLongVectorsUnrolled: false,
  elementwise: (impl, args, attrs) => (impl.wgsl ?? impl.code)?.(args, attrs) ?? `${impl.call}(${args.join(', ')})`,
  abs: (x) => `abs(${x})`,
  max: (a, b) => `max(${a}, ${b})`,
  huge: '3.0e38',
  copyArray: (to, from) => `${to} = ${from};`,
  solveFailure: (residual, iterations) => [
    `${statusWord('failure')} = (step + 1u) | ${NO_CONVERGENCE_FLAG}u;`,
    `${statusWord('iterationsMax')} = max(${statusWord('iterationsMax')}, u32(${iterations}));`,
    `${statusWord('residual')} = bitcast<u32>(${residual});`,
    'failed = true;',
    'break;',
  ],
  afterSolve: ['if (failed) { break; }'],
};
