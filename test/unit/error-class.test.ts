/**
 * Every refusal is a DarbouxError (src/errors.ts): no `new Error(`, `new RangeError(`, `new TypeError(` (or
 * another built-in error class, thrown or constructed) anywhere else in src/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DarbouxError } from '../../src/errors.js';
import { harmonicOscillator, phaseSpace } from '../../src/index.js';
import { stepProgram, tangentStep } from '../../src/internals.js';

const BUILT_IN = /\b(?:new|throw)\s+(Error|RangeError|TypeError|SyntaxError|ReferenceError|EvalError|URIError)\s*\(/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    return d.isDirectory() ? sourceFiles(full) : d.name.endsWith('.ts') ? [full.split(path.sep).join('/')] : [];
  });
}

/** `file:line: text` for every built-in error constructed or thrown in a file. */
function builtInErrors(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((line, i) =>
    [...line.matchAll(BUILT_IN)].map(() => `${file}:${i + 1}: ${line.trim()}`));
}

describe('one error class', () => {
  const files = sourceFiles('src').filter((f) => f !== 'src/errors.ts');

  it('src/ constructs no built-in errors outside src/errors.ts', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap(builtInErrors)).toEqual([]);
  });

  it('the scan finds what it looks for', () => {
    const sample = ["throw new Error('x')", 'throw new RangeError(`y`)', 'const e = new TypeError ("z")', "throw Error('w')", "throw new DarbouxError('SPEC', 'ok')"];
    expect(sample.map((l) => [...l.matchAll(BUILT_IN)].length)).toEqual([1, 1, 1, 1, 0]);
  });

  it('phaseSpace and tangentStep refuse with DarbouxError codes', () => {
    for (const dof of [0, 1.5, -2, Number.NaN]) {
      expect(() => phaseSpace(dof)).toThrow(DarbouxError);
      expect(() => phaseSpace(dof)).toThrow(expect.objectContaining({ code: 'SPEC', details: { dof } }));
    }
    const implicit = stepProgram(harmonicOscillator().hamiltonian, 'midpoint');
    expect(() => tangentStep(implicit)).toThrow(expect.objectContaining({ code: 'INTERNAL', details: { method: 'midpoint' } }));
    // An explicit program still has its tangent step.
    expect(tangentStep(stepProgram(harmonicOscillator().hamiltonian, 'leapfrog')).dq.shape).toEqual([1]);
  });
});
