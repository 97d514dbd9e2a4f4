import type { TargetSyntax } from './lowering.js';

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

/** WGSL (f32) syntax for the shared lowering. Scratch arrays are function-scope `var`s. */
export const wgslSyntax: TargetSyntax = {
  name: 'wgsl',
  literal: wgslLiteral,
  constDecl: (name, code) => `let ${name} = ${code};`,
  mutableDecl: (name, code) => `var ${name}: f32 = ${code};`,
  arrayDecl: (name, n) => `var ${name}: array<f32, ${n}>;`,
  constantArrayDecl: (name, values) => `var<private> ${name}: array<f32, ${values.length}> = array<f32, ${values.length}>(${values.map(wgslLiteral).join(', ')});`,
  loopOpen: (i, n) => `for (var ${i}: i32 = 0; ${i} < ${n}; ${i}++) {`,
  keepsLongVectorsUnrolled: false,
  elementwise: (impl, args, attrs) => (impl.wgsl ?? impl.code)?.(args, attrs) ?? `${impl.call}(${args.join(', ')})`,
};
