/**
 * Straight-line f64 code: the statements the JS lowering writes for an explicit step over scalar registers
 * (`const t = (a * b);`, `let c = t;`, `c = t;`) read back into a small expression tree, so that another target
 * (the WebAssembly lane runner, `emit-wasm-stepper.ts`) evaluates exactly the operations the JS runner evaluates,
 * in the same order. Only what has an exact f64 counterpart is accepted: literals, names, unary −, + − × ÷ and
 * the Math functions in `EXACT_MATH` (correctly rounded or exact in IEEE 754). Anything else (array reads, loops,
 * other functions, conditionals) is refused with the reason, and the caller keeps the JS runner.
 */

/** An expression of straight-line code. */
export type LineExpr =
  | { kind: 'num'; value: number }
  | { kind: 'ref'; name: string }
  | { kind: 'neg'; arg: LineExpr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/'; left: LineExpr; right: LineExpr }
  | { kind: 'call'; fn: ExactMathFunction; args: LineExpr[] };

/** One statement: `const|let name = expr;` (declare) or `name = expr;`. */
export interface LineStatement {
  name: string;
  declare: boolean;
  expr: LineExpr;
}

/** Math functions whose f64 result WebAssembly computes identically (IEEE 754 exact or correctly rounded; sign by selects). */
export const EXACT_MATH = ['sqrt', 'abs', 'sign', 'min', 'max', 'floor', 'ceil', 'trunc'] as const;
export type ExactMathFunction = (typeof EXACT_MATH)[number];

/** Refusal: the code is not straight-line exact f64 code; `reason` names the first construct that is not. */
export interface NotStraightLine {
  reason: string;
}

/**
 * Options of the reader. `elementReads`: an element of an array at a literal index (`in1[0]`, a parameter read
 * from an input array) is read as a name, `ref` 'in1[0]' (the caller makes sure that the array does not change
 * meanwhile).
 */
export interface LineOptions {
  elementReads?: boolean;
}

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)|([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)|(\S))/y;

/** Tokens of one expression: numbers, names (Math.f included), single punctuation characters. */
function tokenize(code: string): string[] {
  const text = code.trim();
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const m = TOKEN.exec(text);
    if (m === null) break;
    tokens.push(m[1] ?? m[2] ?? m[3]!);
  }
  return tokens;
}

/**
 * Parses one expression of the accepted subset (precedence: unary −, then × ÷, then + −, left-associative).
 *
 * @example
 * parseLineExpr('(vt0 * (sq0 + 1))'); // { kind: 'bin', op: '*', … }
 * parseLineExpr('Math.sin(x)');       // { reason: "Math.sin has no exact WebAssembly instruction" }
 * parseLineExpr('in1[0] * x', { elementReads: true }); // { kind: 'bin', op: '*', left: { kind: 'ref', name: 'in1[0]' }, … }
 */
export function parseLineExpr(code: string, options: LineOptions = {}): LineExpr | NotStraightLine {
  const tokens = tokenize(code);
  let at = 0;
  let failure: string | null = null;
  const fail = (reason: string): LineExpr => {
    failure ??= reason;
    return { kind: 'num', value: 0 };
  };
  const expect = (tok: string) => (tokens[at] === tok ? (at++, true) : (fail(`expected '${tok}' in '${code}'`), false));
  // Iterative precedence climbing would be longer; the recursion here is bounded by the lowering's inline depth.
  const primary = (): LineExpr => {
    const tok = tokens[at++];
    if (tok === undefined) return fail(`unexpected end of '${code}'`);
    if (tok === '(') {
      const e = sum();
      expect(')');
      return e;
    }
    if (tok === '-') return { kind: 'neg', arg: primary() };
    if (/^[\d.]/.test(tok)) return { kind: 'num', value: Number(tok) };
    if (tok === 'NaN' || tok === 'Infinity') return { kind: 'num', value: Number(tok) };
    if (tok.startsWith('Math.')) return call(tok.slice(5));
    if (/^[A-Za-z_$][\w$]*$/.test(tok)) {
      if (options.elementReads === true && tokens[at] === '[' && /^\d+$/.test(tokens[at + 1] ?? '') && tokens[at + 2] === ']') {
        at += 3;
        return { kind: 'ref', name: `${tok}[${tokens[at - 2]}]` };
      }
      if (tokens[at] === '[' || tokens[at] === '(' || tokens[at] === '.') return fail(`'${tok}${tokens[at]}' (an array read or a call) in '${code}'`);
      return { kind: 'ref', name: tok };
    }
    return fail(`'${tok}' in '${code}'`);
  };
  const call = (fn: string): LineExpr => {
    if (!(EXACT_MATH as readonly string[]).includes(fn)) return fail(`Math.${fn} has no exact WebAssembly instruction`);
    expect('(');
    const args: LineExpr[] = [];
    while (failure === null && tokens[at] !== ')') {
      args.push(sum());
      if (tokens[at] === ',') at++;
      else break;
    }
    expect(')');
    const binary = fn === 'min' || fn === 'max';
    if (binary ? args.length < 2 : args.length !== 1) return fail(`Math.${fn} with ${args.length} arguments in '${code}'`);
    return { kind: 'call', fn: fn as ExactMathFunction, args };
  };
  // A left-associative level of binary operators `ops` over operands parsed by `operand`.
  const level = (ops: readonly ('+' | '-' | '*' | '/')[], operand: () => LineExpr) => (): LineExpr => {
    let left = operand();
    while ((ops as readonly string[]).includes(tokens[at]!)) {
      const op = tokens[at++] as '+' | '-' | '*' | '/';
      left = { kind: 'bin', op, left, right: operand() };
    }
    return left;
  };
  const product = level(['*', '/'], primary);
  const sum = level(['+', '-'], product);
  const e = sum();
  if (failure === null && at !== tokens.length) fail(`'${tokens[at]}' in '${code}'`);
  return failure === null ? e : { reason: failure };
}

const STATEMENT = /^\s*(?:(const|let)\s+)?([A-Za-z_$][\w$]*)\s*=\s*(.*?);\s*$/;

/**
 * Parses statements of straight-line code, one per line (several `;`-separated assignments on a line allowed).
 *
 * @example
 * parseStatements(['  const vt1 = (sq0 * sq1);', '  vc2 = vt1;']); // [{ name: 'vt1', declare: true, … }, …]
 */
export function parseStatements(lines: readonly string[], options: LineOptions = {}): LineStatement[] | NotStraightLine {
  const out: LineStatement[] = [];
  for (const line of lines) {
    for (const part of line.split(/;(?=\s*\S)/).map((p, k, all) => (k < all.length - 1 ? `${p};` : p))) {
      if (part.trim() === '') continue;
      const m = STATEMENT.exec(part);
      if (m === null) return { reason: `statement '${part.trim()}' is not an assignment` };
      const expr = parseLineExpr(m[3]!, options);
      if ('reason' in expr) return expr;
      out.push({ name: m[2]!, declare: m[1] !== undefined, expr });
    }
  }
  return out;
}

/**
 * Names an expression reads, in order of first reading.
 *
 * @example
 * exprRefs(parseLineExpr('(a + (b * a))') as LineExpr); // ['a', 'b']
 */
export function exprRefs(e: LineExpr): string[] {
  const seen = new Set<string>();
  const stack: LineExpr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.kind === 'ref') seen.add(x.name);
    else if (x.kind === 'neg') stack.push(x.arg);
    else if (x.kind === 'bin') stack.push(x.right, x.left);
    else if (x.kind === 'call') for (let k = x.args.length - 1; k >= 0; k--) stack.push(x.args[k]!);
  }
  return [...seen];
}
