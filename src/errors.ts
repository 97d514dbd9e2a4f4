/**
 * The one error class darboux throws. `code` is stable and machine-readable; the message says what went
 * wrong, where (column, op, step, trajectory) and what to do instead.
 *
 * @example
 * try { parse({ q: ['x'], p: ['px'], H: 'x + zz' }); }
 * catch (e) { if (e instanceof DarbouxError && e.code === 'PARSE') console.log(e.message); }
 */
export class DarbouxError extends Error {
  constructor(
    readonly code: DarbouxErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DarbouxError';
  }
}

/** Stable error codes carried by {@link DarbouxError}. */
export type DarbouxErrorCode =
  | 'PARSE'
  | 'SPEC'
  | 'SHAPE'
  | 'NOT_SEPARABLE'
  | 'OPTION'
  | 'INPUT'
  | 'NONFINITE'
  | 'NO_CONVERGENCE'
  /** A singular or near-singular matrix where an inverse is needed (a Lagrangian's velocity Hessian). */
  | 'SINGULAR'
  | 'DEVICE'
  | 'JSON'
  /** The run was cancelled through its `signal` (the error's `name` is 'AbortError'). */
  | 'ABORTED'
  /** A broken internal invariant (a darboux bug, or misuse of `darboux/internals`): please report it. */
  | 'INTERNAL';

/** Characters a message must not print raw: controls, invisible format characters, separators other than ' ', lone surrogates. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u115f\u1160\u3164\uffa0\u034f\u180b-\u180f\ufe00-\ufe0f]|\p{Cs}/gu;

/**
 * User text as a message shows it: control and invisible characters escaped (`\u0000`, `\u200b`), so what a
 * message quotes is what was passed. Every message that quotes a user's name or string goes through it.
 *
 * @example
 * escapeText('x\u200b'); // 'x\\u200b'
 */
export function escapeText(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Any value as a message shows it, never throwing: strings quoted and escaped, numbers as written, arrays by
 * length, other objects by kind (a value whose `toString` throws or is not callable still shows).
 *
 * @example
 * showValue('θ\u0000'); // "'θ\\u0000'"
 * showValue(NaN);       // 'NaN'
 * showValue(null);      // 'null'
 */
export function showValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `'${escapeText(value.length > 80 ? `${value.slice(0, 77)}...` : value)}'`;
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return String(value) + (typeof value === 'bigint' ? 'n' : '');
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
      return 'an object';
  }
}

/**
 * The candidate closest to `name` by edit distance (case differences count half), if it is close enough to be a
 * likely typo: within 1 edit for names of up to 3 characters, else 2.
 *
 * @example
 * closestName('lrr', ['lr', 'steps']); // 'lr'
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = name.length <= 3 ? 1 : 2;
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0.5 : editDistance(name, c);
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, c: string): number {
  let prev = Array.from({ length: c.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= c.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === c[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[c.length]!;
}
