import { describe, expect, it } from 'vitest';
import { shallowSum } from '../../src/codegen/wgsl-kernel.js';

/** Longest chain of operators inside one pair of parentheses plus the nesting, a bound on the expression depth. */
function depth(code: string): number {
  let nesting = 0, worst = 0;
  const chain: number[] = [0];
  for (const ch of code) {
    if (ch === '(') { nesting++; chain.push(0); }
    else if (ch === ')') { nesting--; chain.pop(); }
    else if (ch === '+') { chain[chain.length - 1]!++; worst = Math.max(worst, chain.reduce((a, b) => a + b, 0) + nesting); }
  }
  return worst;
}

describe('shallowSum (WGSL finiteness checks of long states)', () => {
  it('is the plain chain up to 32 terms', () => {
    expect(shallowSum(['a', 'b', 'c'])).toBe('a + b + c');
    const terms = Array.from({ length: 32 }, (_, i) => `x${i}`);
    expect(shallowSum(terms)).toBe(terms.join(' + '));
  });
  it.each([33, 1536, 200_000])('%i terms: same value as the plain sum, depth far under Tint’s 512', (count) => {
    const values = Array.from({ length: count }, (_, i) => ((i * 7919) % 1000) / 1000);
    const code = shallowSum(values.map((v) => String(v)));
    const plain = values.reduce((a, b) => a + b, 0);
    expect(Number(new Function(`return ${code};`)())).toBeCloseTo(plain, 6);
    expect(depth(code)).toBeLessThan(140);
  });
});
