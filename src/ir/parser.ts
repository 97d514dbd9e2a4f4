/**
 * The formula parser: a recursive-descent parser over {@link tokenize}'s tokens that builds nodes only through
 * the builders, so the result is simplified and interned like any hand-built expression.
 *
 * Grammar (lowest precedence first):
 *
 *     formula  := expr END
 *     expr     := term (('+' | '-') term)*            left-associative
 *     term     := unary (('*' | '/') unary)*          left-associative
 *     unary    := ('-' | '+') unary | power            so -x^2 is -(x^2)
 *     power    := primary ('^' exponent)?
 *     exponent := ('-' | '+') exponent | power        right-associative: 2^3^2 is 2^(3^2); x^-2 is allowed
 *     primary  := NUMBER | NAME | FUNCTION '(' expr ')' | '(' expr ')'
 */
import { closestName, DarbouxError } from '../errors.js';
import * as b from './build.js';
import type { Expr } from './expr.js';
import { unaryFunctionNames } from './op.js';
import { SUPERSCRIPT_DIGITS, tokenize, type Token } from './tokenizer.js';
import { constantValues, isConstant } from './make.js';
import './ops/index.js';

/**
 * The functions a formula may call, each with exactly one argument: every op the registry marks as a
 * one-argument function (`unaryFunctionNames`), built by its builder. A new such op is callable at once.
 *
 * @example
 * FORMULA_FUNCTIONS.has('tanh') // true
 */
export const FORMULA_FUNCTIONS: ReadonlyMap<string, (x: Expr) => Expr> = new Map(unaryFunctionNames().map((name) => [name, b.unaryBuilder(name)]));

/** Deepest nesting (parentheses, unary signs, exponents) accepted before a clean error instead of a stack overflow. */
const MAX_NESTING = 1000;

const BINARY: Readonly<Record<string, (a: Expr, c: Expr) => Expr>> = { '+': b.add, '-': b.sub, '*': b.mul, '/': b.div };

/** Options of {@link parseFormula}. */
export interface ParseFormulaOptions {
  /**
   * Refuse (PARSE, at the token's column) a constant that folds to Infinity or NaN: 1e400, 1/0, sqrt(-1), log(0).
   * Off by default, so printed expressions with non-finite constants (`(1/0)`) read back; `parse` turns it on.
   */
  finiteConstants?: boolean;
}

/**
 * Parses a formula into an expression, resolving names in `scope`. Operators: `+ - * / ^` with the usual
 * precedence, unary minus and plus, parentheses, and one-argument calls of the functions in
 * {@link FORMULA_FUNCTIONS} (sqrt exp log sin cos tan tanh sinh cosh abs sign softplus sigmoid). `^` is right-associative and binds tighter than unary minus
 * (`-x^2` is `-(x^2)`); an integer constant exponent becomes `powi`.
 *
 * Throws a `PARSE` {@link DarbouxError} whose message names the problem and its 1-based column, with
 * `details.column` and `details.token`: unknown names and functions (with a close known name when there is
 * one), unbalanced parentheses, missing operands, stray characters, missing operators, wrong argument counts.
 *
 * @example
 * const q = input('q', 'q', [1]);
 * const x = index(q, 0);
 * parseFormula('-x^2 / 2', new Map([['x', x]])) === div(neg(powi(x, 2)), 2); // true
 */
export function parseFormula(text: string, scope: ReadonlyMap<string, Expr>, options: ParseFormulaOptions = {}): Expr {
  if (typeof text !== 'string') throw new DarbouxError('PARSE', `a formula must be a string, got ${typeof text}`, { column: 1, token: '' });
  const tokens = tokenize(text);
  if (tokens.length === 1) throw new DarbouxError('PARSE', 'empty formula: write an expression such as px^2/2 + x^2/2', { column: 1, token: '' });
  checkParentheses(tokens);
  try {
    return new Parser(tokens, scope, options.finiteConstants === true).formula();
  } catch (e) {
    // Sums and products are loops; only nesting recurses, at most MAX_NESTING levels. Should a caller's own
    // stack leave less room than that, the overflow is still a PARSE error, not a raw RangeError.
    if (!(e instanceof RangeError && /call stack/i.test(e.message))) throw e;
    throw new DarbouxError('PARSE', `formula nested too deeply for the available stack (at most ${MAX_NESTING} levels are accepted): ${e.message}`, { column: 1, token: '' });
  }
}

/** Reports the first ')' without a match, or else an unclosed '(' (the innermost one). */
function checkParentheses(tokens: readonly Token[]): void {
  const open: Token[] = [];
  for (const t of tokens) {
    if (t.kind === '(') open.push(t);
    else if (t.kind === ')') {
      if (open.pop() === undefined) throw error(`unbalanced parenthesis: ')' at column ${t.column} has no match`, t);
    }
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) throw error(`unbalanced parenthesis: '(' at column ${unclosed.column} is never closed`, unclosed);
}

function error(message: string, at: Token): DarbouxError {
  return new DarbouxError('PARSE', message, { column: at.column, token: at.text });
}

/**
 * `e`, unless it is a constant folded to a non-finite value (1e400, 1/0, sqrt(-1), log(0), 10^400): then a PARSE
 * error at the token that made it, since such a formula would only ever evaluate to Infinity or NaN.
 */
function finiteConstant(e: Expr, at: Token): Expr {
  if (!isConstant(e)) return e;
  const value = constantValues(e).find((v) => !Number.isFinite(v));
  if (value === undefined) return e;
  const what = at.kind === 'number' ? `the number '${at.text}' at column ${at.column} overflows a double` : `'${at.text}' at column ${at.column} folds its constant operands to ${value}`;
  throw new DarbouxError('PARSE', `${what}; a formula's constants must be finite: write a finite value or move the singular expression`, {
    column: at.column,
    token: at.text,
    value,
  });
}

/** How a token reads in a message. */
const show = (t: Token) => (t.kind === 'end' ? 'the end of the formula' : `'${t.text}'`);

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly scope: ReadonlyMap<string, Expr>,
    private readonly finite: boolean,
  ) {}

  /** `e`, checked by {@link finiteConstant} when the parse asks for finite constants. */
  private folded(e: Expr, at: Token): Expr {
    return this.finite ? finiteConstant(e, at) : e;
  }

  formula(): Expr {
    const e = this.expr();
    const t = this.peek();
    if (t.kind !== 'end') throw this.unexpected(t);
    return e;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  private isOp(t: Token, ...ops: string[]): boolean {
    return t.kind === 'op' && ops.includes(t.text);
  }

  private expr(): Expr {
    let acc = this.term();
    while (this.isOp(this.peek(), '+', '-')) {
      const op = this.next();
      acc = this.folded(BINARY[op.text]!(acc, this.term()), op);
    }
    return acc;
  }

  private term(): Expr {
    let acc = this.unary();
    while (this.isOp(this.peek(), '*', '/')) {
      const op = this.next();
      acc = this.folded(BINARY[op.text]!(acc, this.unary()), op);
    }
    return acc;
  }

  /** unary := ('-' | '+') unary | power; also used for exponents, where it yields exactly `exponent`. */
  private unary(): Expr {
    const t = this.peek();
    if (this.isOp(t, '-', '+')) {
      this.next();
      this.enter(t);
      const operand = this.unary();
      this.depth--;
      return t.text === '-' ? b.neg(operand) : operand;
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.primary();
    const t = this.peek();
    if (!this.isOp(t, '^')) return base;
    this.next();
    this.enter(t);
    const exponent = this.unary(); // right-associative, and the exponent may start with a sign
    this.depth--;
    return this.folded(b.pow(base, exponent), t);
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
        this.next();
        return this.folded(b.constant(t.value!), t);
      case 'name':
        return this.name();
      case '(': {
        this.next();
        if (this.peek().kind === ')') throw error(`empty parentheses '()' at column ${t.column}`, t);
        this.enter(t);
        const inner = this.expr();
        this.depth--;
        this.close(t);
        return inner;
      }
      default:
        throw this.missingOperand(t);
    }
  }

  private name(): Expr {
    const t = this.next();
    const fn = FORMULA_FUNCTIONS.get(t.text);
    const called = this.peek().kind === '(';
    if (called && fn !== undefined) return this.call(t, fn);
    const value = this.scope.get(t.text);
    if (value !== undefined) {
      if (called) {
        throw error(`'${t.text}' at column ${t.column} is not a function: write ${t.text}*(...) to multiply`, t);
      }
      return value;
    }
    if (fn !== undefined) throw error(`function '${t.text}' at column ${t.column} needs its argument in parentheses, as in ${t.text}(x)`, t);
    if (called) {
      throw error(`unknown function '${t.text}' at column ${t.column}${suggest(t.text, [...FORMULA_FUNCTIONS.keys()])}`, t);
    }
    const names = [...this.scope.keys()];
    const known = suggest(t.text, names) || (names.length > 0 && names.length <= 12 ? ` (known names: ${names.join(', ')})` : '');
    const power = SUPERSCRIPT_DIGITS.test(t.text) ? "; for a power write '^', as in x^2" : '';
    throw error(`unknown name '${t.text}' at column ${t.column}${known}${power}`, t);
  }

  private call(fnToken: Token, fn: (x: Expr) => Expr): Expr {
    const open = this.next();
    this.enter(open);
    const args: Expr[] = [];
    if (this.peek().kind !== ')') {
      args.push(this.expr());
      while (this.peek().kind === ',') {
        this.next();
        args.push(this.expr());
      }
    }
    this.depth--;
    this.close(open);
    if (args.length !== 1) {
      throw error(`function '${fnToken.text}' at column ${fnToken.column} takes exactly one argument, got ${args.length}`, fnToken);
    }
    return this.folded(fn(args[0]!), fnToken);
  }

  /** Consumes the ')' matching `open`. */
  private close(open: Token): void {
    const t = this.peek();
    if (t.kind === ')') {
      this.next();
      return;
    }
    if (t.kind === 'end') throw error(`unbalanced parenthesis: '(' at column ${open.column} is never closed`, open);
    throw this.unexpected(t);
  }

  private enter(at: Token): void {
    if (++this.depth > MAX_NESTING) {
      throw error(`formula nested too deeply (more than ${MAX_NESTING} levels) at column ${at.column}`, at);
    }
  }

  /** A token where an operator (or the end, or a ')') was expected. */
  private unexpected(t: Token): DarbouxError {
    if (t.kind === ',') return error(`unexpected ',' at column ${t.column}: commas only separate function arguments`, t);
    if (t.kind === ')') return error(`unbalanced parenthesis: ')' at column ${t.column} has no match`, t);
    const prev = this.tokens[this.pos - 1]!;
    return error(`expected an operator between ${show(prev)} and ${show(t)} at column ${t.column}`, t);
  }

  /** A token where an operand was expected. */
  private missingOperand(t: Token): DarbouxError {
    const prev = this.pos > 0 ? this.tokens[this.pos - 1]! : undefined;
    if (prev !== undefined && prev.kind === 'op') {
      const where = t.kind === 'end' ? ' (the formula ends there)' : '';
      return error(`missing operand after '${prev.text}' at column ${prev.column}${where}`, prev);
    }
    if (prev !== undefined && prev.kind === ',' && (t.kind === ')' || t.kind === ',')) {
      return error(`missing argument after ',' at column ${prev.column}`, prev);
    }
    if (t.kind === 'op') return error(`missing operand before '${t.text}' at column ${t.column}`, t);
    if (t.kind === ',') return error(`unexpected ',' at column ${t.column}: commas only separate function arguments`, t);
    return error(`missing operand at column ${t.column}`, t);
  }
}

/** ` (did you mean 'x'?)` when a candidate is within a small edit distance of `name`, else ''. */
function suggest(name: string, candidates: readonly string[]): string {
  const best = closestName(name, candidates);
  return best === undefined ? '' : ` (did you mean '${best}'?)`;
}
