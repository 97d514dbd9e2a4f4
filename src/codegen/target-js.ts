import type { Target } from './target.js';

/**
 * A JS numeric literal that round-trips exactly (negative values parenthesised).
 *
 * @example
 * jsLiteral(0.1);  // '0.1'
 * jsLiteral(-2.5); // '(-2.5)'
 */
export function jsLiteral(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '(-Infinity)';
  if (Object.is(v, -0)) return '(-0)';
  return v < 0 ? `(${String(v)})` : String(v);
}

/**
 * JavaScript (f64). A failed solve sets `failStep` and the other failure locals and leaves the step loop labelled `stepLoop`
 * (`jsKernelSkeleton`: loop variables `s`, step, and `b`, trajectory).
 *
 * @example
 * const lowering = new Lowering(jsTarget);
 */
export const jsTarget: Target = {
  name: 'js',
  literal: jsLiteral,
  constDecl: (name, code) => `const ${name} = ${code};`,
  mutableDecl: (name, code) => `let ${name} = ${code};`,
  arrayDecl: (name, n) => `const ${name} = new Float64Array(${n});`,
  intArrayDecl: (name, n) => `const ${name} = new Int32Array(${n});`,
  constantArrayDecl: (name, values) => `const ${name} = Float64Array.of(${values.map(jsLiteral).join(', ')});`,
  loopOpen: (i, n) => `for (let ${i} = 0; ${i} < ${n}; ${i}++) {`,
  unboundedLoopOpen: 'for (;;) {',
  keepsLongVectorsUnrolled: true,
  elementwise: (impl, args, attrs) => (impl.js ?? impl.code)?.(args, attrs) ?? `Math.${impl.call}(${args.join(', ')})`,
  abs: (x) => `Math.abs(${x})`,
  max: (a, b) => `Math.max(${a}, ${b})`,
  huge: 'Infinity',
  copyArray: (to, from) => `${to}.set(${from});`,
  solveFailure: (residual, iterations) => [
    `failStep = s; failKind = 1; failResidual = ${residual}; failIterations = ${iterations};`,
    'break stepLoop;',
  ],
  afterSolve: [],
};
