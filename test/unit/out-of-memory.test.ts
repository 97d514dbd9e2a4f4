import { describe, expect, it } from 'vitest';
import { compileGenerated, outOfMemory } from '../../src/codegen/emit-js.js';
import { DarbouxError } from '../../src/errors.js';

describe('generated code that cannot allocate its buffers', () => {
  it('a typed array too long for the engine becomes a SPEC DarbouxError, not a RangeError', () => {
    const run = compileGenerated<(n: number) => number>('"use strict"; return function f(n) { return new Float64Array(n).length; };', 'a test runner');
    expect(run(8)).toBe(8);
    let caught: unknown;
    try { run(2 ** 40); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(DarbouxError);
    expect(caught).toMatchObject({ code: 'SPEC', details: { reason: expect.stringMatching(/typed array length/i) } });
    expect((caught as Error).message).toMatch(/^a test runner: .*fewer particles/);
  });

  it('a WebAssembly memory that cannot grow becomes the same error; other RangeErrors pass through', () => {
    const grow = compileGenerated<() => number>('"use strict"; const m = new WebAssembly.Memory({ initial: 1, maximum: 2 }); return function f() { return m.grow(5); };', 'a pair loop');
    expect(() => grow()).toThrow(expect.objectContaining({ code: 'SPEC', message: expect.stringMatching(/4 GiB/) }));
    const other = compileGenerated<() => string>('"use strict"; return function f() { return (1).toFixed(200); };', 'a test');
    expect(() => other()).toThrow(RangeError);
    expect(outOfMemory('x', 'Array buffer allocation failed')).toMatchObject({ code: 'SPEC', details: { reason: 'Array buffer allocation failed' } });
  });
});
