/** Tokens of the formula language: numbers, identifiers, `+ - * / ^`, parentheses and commas. */
import { DarbouxError, escapeText } from '../errors.js';

/** Kinds of formula tokens; `end` marks the end of the input. */
export type TokenKind = 'number' | 'name' | 'op' | '(' | ')' | ',' | 'end';

/** One token with its 1-based column (counted in characters, i.e. Unicode code points). */
export interface Token {
  readonly kind: TokenKind;
  /** The token as written (empty for `end`). */
  readonly text: string;
  /** 1-based column of the token's first character (one past the last character for `end`). */
  readonly column: number;
  /** The value of a `number` token. */
  readonly value?: number;
}

/**
 * Names are Unicode identifiers: a letter (Unicode ID_Start: θ, ω, ℏ …) or `_`, then letters, digits, marks
 * (ID_Continue), subscript and superscript digits (x₁, σ²) and primes (x′, x″). Excluded although ID_Continue: the
 * invisible joiners U+200C/U+200D, the middle dots U+00B7/U+0387 (written for multiplication) and the
 * styled mathematical letters U+1D400–U+1D7FF (𝑥, pasted from papers: write x).
 */
const IDENT_START = /(?![\u{1d400}-\u{1d7ff}])[\p{ID_Start}_]/u;
const IDENT_PART = /(?![\u00b7\u0387\u200c\u200d\u{1d400}-\u{1d7ff}])[\p{ID_Continue}\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u2080-\u2089\u2032-\u2034]/u;
const NAME = /^(?![\u00b7\u0387\u200c\u200d\u{1d400}-\u{1d7ff}])[\p{ID_Start}_](?:(?![\u00b7\u0387\u200c\u200d\u{1d400}-\u{1d7ff}])[\p{ID_Continue}\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u2080-\u2089\u2032-\u2034])*$/u;
/** Superscript digits, which in a formula usually mean a power (x² for x^2). */
export const SUPERSCRIPT_DIGITS = /[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]/u;

/**
 * Whether `name` is a name formulas can use: a Unicode identifier as the tokenizer reads one (θ, p_θ, x₁, ω, x′).
 *
 * @example
 * isFormulaName('p_θ'); // true
 * isFormulaName('x\u200b'); // false: an invisible character
 */
export function isFormulaName(name: unknown): name is string {
  return typeof name === 'string' && NAME.test(name);
}
const DIGIT = /[0-9]/;
const WHITESPACE = /\s/;

/** Look-alike characters people paste from papers, with what to write instead. */
const HINTS: Readonly<Record<string, string>> = {
  '\u2212': "use '-' for minus",
  '\u00d7': "use '*' for multiplication",
  '\u00b7': "use '*' for multiplication",
  '\u22c5': "use '*' for multiplication",
  '\u00f7': "use '/' for division",
  '\u00b2': "use '^2' for a square",
  '\u00b3': "use '^3' for a cube",
  '[': 'only ( ) group expressions',
  ']': 'only ( ) group expressions',
  '{': 'only ( ) group expressions',
  '}': 'only ( ) group expressions',
};

const parseError = (message: string, column: number, token: string) =>
  new DarbouxError('PARSE', message, { column, token });

/**
 * Splits a formula into tokens. Throws a `PARSE` {@link DarbouxError} for a stray character, a malformed
 * number (`1e`, `1e+`) or `**`, with its 1-based column.
 *
 * @example
 * tokenize('x^2 + 1e-3').map((t) => t.text); // ['x', '^', '2', '+', '1e-3', '']
 */
export function tokenize(text: string): Token[] {
  const chars = Array.from(text); // code points, so columns count characters even past the BMP
  const tokens: Token[] = [];
  let i = 0;
  const slice = (a: number, b: number) => chars.slice(a, b).join('');
  while (i < chars.length) {
    const c = chars[i]!;
    const column = i + 1;
    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    if (DIGIT.test(c) || (c === '.' && DIGIT.test(chars[i + 1] ?? ''))) {
      let j = i;
      while (DIGIT.test(chars[j] ?? '')) j++;
      if (chars[j] === '.') {
        j++;
        while (DIGIT.test(chars[j] ?? '')) j++;
      }
      if (chars[j] === 'e' || chars[j] === 'E') {
        let k = j + 1;
        if (chars[k] === '+' || chars[k] === '-') k++;
        if (!DIGIT.test(chars[k] ?? '')) {
          const bad = slice(i, k);
          throw parseError(`malformed number '${bad}' at column ${column}: an exponent needs digits, as in 1e-3`, column, bad);
        }
        while (DIGIT.test(chars[k] ?? '')) k++;
        j = k;
      }
      const numberText = slice(i, j);
      tokens.push({ kind: 'number', text: numberText, column, value: Number(numberText) });
      i = j;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (IDENT_PART.test(chars[j] ?? '')) j++;
      tokens.push({ kind: 'name', text: slice(i, j), column });
      i = j;
      continue;
    }
    if (c === '*' && chars[i + 1] === '*') {
      throw parseError(`'**' at column ${column} is not an operator: use '^' for powers`, column, '**');
    }
    if (c === '+' || c === '-' || c === '*' || c === '/' || c === '^') {
      tokens.push({ kind: 'op', text: c, column });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c, column });
      i++;
      continue;
    }
    const hint = HINTS[c];
    throw parseError(`stray character '${escapeText(c)}' at column ${column}${hint === undefined ? '' : ` (${hint})`}`, column, c);
  }
  tokens.push({ kind: 'end', text: '', column: chars.length + 1 });
  return tokens;
}
