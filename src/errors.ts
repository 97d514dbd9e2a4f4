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
  | 'DEVICE'
  | 'JSON'
  /** The run was cancelled through its `signal` (the error's `name` is 'AbortError'). */
  | 'ABORTED'
  /** A broken internal invariant (a darboux bug, or misuse of `darboux/internals`): please report it. */
  | 'INTERNAL';
