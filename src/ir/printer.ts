/**
 * Formula text of an expression, driven by each op's `print` rule, with the fewest parentheses that keep
 * the structure: for scalar expressions over named leaves, `parseFormula(printExpr(e, { name }), scope) === e`.
 */
import type { Expr } from './expr.js';
import { opDef } from './op.js';
import { topologicalOrder } from './traverse.js';

/** Options of {@link printExpr}. */
export interface PrintOptions {
  /**
   * A display name for a node (e.g. `index(q, 0)` → `'x'`), or `undefined` for the default: inputs print
   * their name, `index(q, 0)` prints `q[0]`. Consulted for every node, not only leaves.
   */
  name?: (node: Expr) => string | undefined;
}

/** A printed subexpression: its text, the precedence of its outermost operator, and how it starts. */
interface Printed {
  text: string;
  /** Precedence of the outermost operator; {@link ATOM} for names, numbers, calls and parenthesised text. */
  prec: number;
  /** The text starts with a unary minus (so it needs parentheses as a right operand of + - * /). */
  leadingMinus: boolean;
  /** The outermost operator is a prefix operator (allowed unparenthesised as an exponent: `x^-2`). */
  prefix: boolean;
}

const ATOM = 100;
const atom = (text: string): Printed => ({ text, prec: ATOM, leadingMinus: false, prefix: false });
const paren = (p: Printed): Printed => atom(`(${p.text})`);
/** Ops whose custom print rule delimits every argument itself, so arguments need no parentheses. */
const DELIMITED = new Set(['stack', 'broadcast']);
/** Infix symbols printed with surrounding spaces. */
const SPACED = new Set(['+', '-']);

/**
 * Formula text of `e`. Binary operators `+ - * / ^` use minimal parentheses by precedence and
 * associativity; `^` binds tighter than unary minus (`-x^2` is `-(x^2)`, `(-x)^2` keeps its parentheses);
 * negative constants print in parentheses (`(-2)`, `(-0)`), non-finite ones as `(1/0)`, `(-1/0)`, `(0/0)`,
 * and numbers with `String(v)` (shortest text that reads back to the same double). Tensor ops print as calls
 * or brackets (`dot(p, p)`, `[x, y]`, `q[0]`) for display only; the parser reads the scalar subset.
 * Iterative, so deep graphs print without recursion (shared subexpressions are printed in full where used).
 *
 * @example
 * const q = input('q', 'q', [1]), p = input('p', 'p', [1]);
 * const names = (n: Expr) => (n === index(q, 0) ? 'x' : n === index(p, 0) ? 'px' : undefined);
 * printExpr(add(div(powi(index(p, 0), 2), 2), neg(powi(index(q, 0), 2))), { name: names }); // 'px^2/2 - x^2'
 */
export function printExpr(e: Expr, options: PrintOptions = {}): string {
  const printed = new Map<Expr, Printed>();
  for (const node of topologicalOrder([e])) {
    const given = options.name?.(node);
    printed.set(node, given !== undefined ? atom(given) : printNode(node, node.args.map((a) => printed.get(a)!)));
  }
  const top = printed.get(e)!;
  // A lone negative constant needs no parentheses at the top level.
  if (e.op === 'const' && options.name?.(e) === undefined && top.text.startsWith('(-') && Number.isFinite(e.attrs.value)) {
    return top.text.slice(1, -1);
  }
  return top.text;
}

function printNode(node: Expr, args: Printed[]): Printed {
  if (node.op === 'const') return node.shape.length === 0 ? printNumber(node.attrs.value as number) : atom(tensorText(node));
  if (node.op === 'tensor') return atom(tensorText(node));
  const rule = opDef(node.op).print;
  if ('infix' in rule) {
    const [left, right] = [args[0]!, rule.exponentAttr !== undefined ? printExponent(node.attrs[rule.exponentAttr] as number) : args[1]!];
    const p = rule.precedence;
    const rightAssoc = rule.rightAssociative === true;
    const l = left.prec < p || (left.prec === p && rightAssoc) ? paren(left) : left;
    const r =
      (right.prec < p && !(rightAssoc && right.prefix)) || (right.prec === p && !rightAssoc) || (right.leadingMinus && !rightAssoc)
        ? paren(right)
        : right;
    const symbol = SPACED.has(rule.infix) ? ` ${rule.infix} ` : rule.infix;
    return { text: `${l.text}${symbol}${r.text}`, prec: p, leadingMinus: l.leadingMinus, prefix: false };
  }
  if ('prefix' in rule) {
    const operand = args[0]!;
    const o = operand.prec < rule.precedence || operand.leadingMinus ? paren(operand) : operand;
    return { text: `${rule.prefix}${o.text}`, prec: rule.precedence, leadingMinus: rule.prefix === '-', prefix: true };
  }
  if ('call' in rule) return atom(`${rule.call}(${args.map((a) => a.text).join(', ')})`);
  const texts = args.map((a) => (DELIMITED.has(node.op) || a.prec === ATOM ? a.text : `(${a.text})`));
  const text = rule.custom(texts, node);
  const prec = rule.precedence ?? ATOM;
  return { text, prec, leadingMinus: prec !== ATOM && text.startsWith('-'), prefix: false };
}

/** A scalar constant: plain when non-negative, parenthesised when negative (including -0), non-finite as a quotient. */
function printNumber(v: number): Printed {
  if (Number.isNaN(v)) return atom('(0/0)');
  if (v === Infinity) return atom('(1/0)');
  if (v === -Infinity) return atom('(-1/0)');
  if (Object.is(v, -0)) return atom('(-0)');
  return v < 0 ? atom(`(${String(v)})`) : atom(String(v));
}

/** An integer exponent stored in attrs (`powi`): `2`, or `-2` as a prefix item so it prints `x^-2`. */
function printExponent(n: number): Printed {
  if (n < 0 || Object.is(n, -0)) return { text: `-${String(-n)}`, prec: 3, leadingMinus: true, prefix: true };
  return atom(String(n));
}

/** A constant tensor as nested brackets, `[1, 2]` or `[[1, 2], [3, 4]]`, with non-finite values spelled out. */
function tensorText(node: Expr): string {
  const show = (v: number) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v));
  const values = node.op === 'const' ? Array.from({ length: node.shape.reduce((a, d) => a * d, 1) }, () => node.attrs.value as number) : (node.attrs.values as readonly number[]);
  const [rows, cols] = node.shape;
  if (node.shape.length === 2) {
    return `[${Array.from({ length: rows! }, (_, i) => `[${values.slice(i * cols!, (i + 1) * cols!).map(show).join(', ')}]`).join(', ')}]`;
  }
  return `[${values.map(show).join(', ')}]`;
}
