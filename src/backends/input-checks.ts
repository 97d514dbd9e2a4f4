/**
 * Checks of what callers pass to `run`, `vjp` and `jacobian` (state arrays, times, memory, the f32 range of the
 * GPU, disposal): every refusal an INPUT or OPTION DarbouxError naming the value, made before any work or
 * allocation.
 */
import { DarbouxError, escapeText, showValue } from '../errors.js';

/** Default `memoryBudget` of a run: 2 GiB of f64 output (final state and recorded states). */
export const DEFAULT_MEMORY_BUDGET = 2 ** 31;

/** Largest finite f32 value; f32 values beyond it are Infinity. */
const F32_MAX = 3.4028234663852886e38;
/** Smallest normal f32 value; smaller magnitudes are subnormal (flushed to zero by many GPUs) or zero. */
const F32_MIN_NORMAL = 2 ** -126;

/** Which numeric range state values must fit: f64 (CPU) or f32 (GPU kernels). */
export type Precision = 'f64' | 'f32';

/**
 * Refuses anything but an options object. @internal
 *
 * @example
 * checkOptionsObject('run', { q0: [1], p0: [0], steps: 1 }, '{ q0, p0, steps, batch? }');
 */
export function checkOptionsObject(what: string, options: unknown, shape: string): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DarbouxError('INPUT', `${what} needs an options object ${shape}, got ${showValue(options)}`, { value: showValue(options) });
  }
}

/**
 * Checks one state array (q0, p0, dq, dp, a jacobian point): an array or typed array of `expected` finite numbers
 * (finite in f32 too when `precision` is 'f32'). The error names the array, the index and the value. @internal
 *
 * @example
 * checkStateArray('q0', [1, NaN], 2); // throws INPUT: q0[1] is NaN
 */
export function checkStateArray(name: string, value: unknown, expected: number, precision: Precision = 'f64', lengthHint = '', scanFloatArrays = true): asserts value is ArrayLike<number> {
  // Arrays, typed arrays and other array-likes (an object with an integer length), as the ArrayLike contract says.
  const arrayLike = value !== null && typeof value === 'object' && !(value instanceof DataView) && Number.isSafeInteger((value as { length?: unknown }).length);
  if (!arrayLike) {
    throw new DarbouxError('INPUT', `${name} must be an array or typed array of ${expected} numbers, got ${showValue(value)}`, { array: name, expected });
  }
  const values = value as ArrayLike<unknown>;
  if (values.length !== expected) {
    throw new DarbouxError('INPUT', `${name} must have length ${lengthHint || expected}, got ${values.length}`, { array: name, expected, length: values.length });
  }
  if (value instanceof Float64Array || value instanceof Float32Array) {
    // Typed float arrays hold numbers: only the range needs a look (a fast loop for large batches), or none here
    // when the caller scans them itself (`scanFloatArrays` false: the GPU's upload loop, refusing with `refuseStateElement`).
    if (!scanFloatArrays) return;
    for (let i = 0; i < value.length; i++) {
      const x = value[i]!;
      if (!(Math.abs(x) <= F32_MAX) && (precision === 'f32' || !Number.isFinite(x))) refuseElement(name, i, x, precision);
    }
    return;
  }
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || (precision === 'f32' && Math.abs(x) > F32_MAX)) refuseElement(name, i, x, precision);
  }
}

/**
 * The INPUT error of a bad state entry (as `checkStateArray` throws it), for loops that check while they copy. @internal
 *
 * @example
 * if (!(Math.abs(x) <= 3.4028234663852886e38)) refuseStateElement('q0', i, x, 'f32');
 */
export const refuseStateElement = (name: string, index: number, value: unknown, precision: Precision): never => refuseElement(name, index, value, precision);

function refuseElement(name: string, index: number, value: unknown, precision: Precision): never {
  const hole = value === undefined ? ' (a hole or undefined)' : '';
  const range = typeof value === 'number' && Number.isFinite(value) ? ` beyond the f32 range ±${F32_MAX.toExponential(3)} of the GPU` : '';
  throw new DarbouxError(
    'INPUT',
    `${name}[${index}] is ${showValue(value)}${hole}${range}; every entry must be a finite number${precision === 'f32' ? ' (representable in f32)' : ''}`,
    { array: name, index, value },
  );
}

/**
 * Checks a start time: a finite number (in f32 range on the GPU); undefined means 0. @internal
 *
 * @example
 * checkTime('t0', undefined); // 0
 */
export function checkTime(name: string, value: unknown, precision: Precision = 'f64'): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || (precision === 'f32' && Math.abs(value) > F32_MAX)) {
    throw new DarbouxError('INPUT', `${name} must be a finite number${precision === 'f32' ? ' in the f32 range' : ''}, got ${showValue(value)}`, { name, value });
  }
  return value;
}

/**
 * Checks a count option (steps, batch, record…): a safe integer ≥ `min`; undefined gives `fallback`. @internal
 *
 * @example
 * checkCount('batch', undefined, 1, 1); // 1
 */
export function checkCount(name: string, value: unknown, min: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new DarbouxError('INPUT', `${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${showValue(value)}`, { name, value });
  }
  return value;
}

/**
 * Refuses a run whose f64 output (final q and p, plus `snapshots` recorded states) needs more than `budget` bytes,
 * before anything is allocated. @internal
 *
 * @example
 * checkOutputMemory(4096, 2, 1000, undefined); // fine: 4096·2·2·8·1001 bytes ≈ 131 MB
 */
export function checkOutputMemory(batch: number, dof: number, snapshots: number, budget: unknown): void {
  const limit = budget ?? DEFAULT_MEMORY_BUDGET;
  if (typeof limit !== 'number' || !(limit > 0)) {
    throw new DarbouxError('INPUT', `memoryBudget must be a positive number of bytes, got ${showValue(budget)}`, { name: 'memoryBudget', value: budget });
  }
  const bytes = 2 * 8 * batch * dof * (1 + snapshots);
  if (bytes > limit) {
    throw new DarbouxError(
      'INPUT',
      `this run's output needs ${formatBytes(bytes)} (batch ${batch} × dof ${dof} × ${1 + snapshots} states × q and p × 8 bytes), ` +
        `over the memory budget of ${formatBytes(limit)}; record less often, split the batch, or raise memoryBudget`,
      { bytes, budget: limit, batch, snapshots },
    );
  }
}

const formatBytes = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toPrecision(3)} GiB` : `${(bytes / 2 ** 20).toPrecision(3)} MiB`);

/**
 * Refuses a step size the GPU's f32 cannot hold: one that underflows (below the smallest normal f32, ~1.2e-38,
 * which GPUs may flush to 0) or overflows (above ~3.4e38) would silently step by 0 or Infinity. @internal
 *
 * @example
 * checkF32StepSize(1e-46); // throws OPTION
 */
export function checkF32StepSize(dt: number): void {
  const size = Math.abs(dt);
  if (size < F32_MIN_NORMAL || size > F32_MAX) {
    throw new DarbouxError(
      'OPTION',
      `dt = ${dt} ${size < F32_MIN_NORMAL ? 'underflows' : 'overflows'} f32 on the GPU (normal f32 magnitudes lie in [${F32_MIN_NORMAL.toExponential(3)}, ${F32_MAX.toExponential(3)}]); ` +
        "choose a dt in that range, or use backend: 'cpu' (f64)",
      { dt },
    );
  }
}

/**
 * Refuses parameter values the GPU's f32 cannot hold (beyond ±3.4e38: they would become Infinity in the kernel),
 * as a SPEC error naming the parameter and index. @internal
 *
 * @example
 * checkF32Parameters(h); // throws SPEC for h.withParams({ lam: 1e39 })
 */
export function checkF32Parameters(system: { params: readonly { attrs: Record<string, unknown> }[]; paramValues: readonly Float64Array[] }): void {
  system.paramValues.forEach((values, k) => {
    const index = values.findIndex((v) => !(Math.abs(v) <= F32_MAX));
    if (index < 0) return;
    const name = String(system.params[k]!.attrs.name);
    throw new DarbouxError(
      'SPEC',
      `parameter '${escapeText(name)}'${values.length > 1 ? `[${index}]` : ''} = ${values[index]} is beyond the f32 range ±${F32_MAX.toExponential(3)} of the GPU; rescale it or use backend: 'cpu'`,
      { name, index, value: values[index] },
    );
  });
}

/**
 * Checks the point of `jacobian(q, p, t)`: two arrays of `dof` finite numbers and a finite time. @internal
 *
 * @example
 * checkJacobianPoint([1], [0], 0, 1);
 */
export function checkJacobianPoint(q: unknown, p: unknown, t: unknown, dof: number): void {
  checkStateArray('jacobian: q', q, dof);
  checkStateArray('jacobian: p', p, dof);
  checkTime('jacobian: t', t);
}

/** The error of a stepper used, or left running, after `dispose()`. @internal @example throw disposedError('run') */
export function disposedError(what: string, during = false): DarbouxError {
  return during
    ? new DarbouxError('INPUT', `this stepper was disposed during ${what}: the ${what} is abandoned; dispose a stepper only after its runs settle`, { disposed: true, during: what })
    : new DarbouxError('INPUT', `this stepper was disposed: ${what} needs a live stepper; compile again`, { disposed: true, call: what });
}

/** What `guard` wraps: a stepper's run, vjp and jacobian. */
type Guarded = { run: (o: never) => Promise<unknown>; vjp: (o: never) => Promise<unknown>; lyapunov?: (o: never) => Promise<unknown>; jacobian: (...a: never[]) => Float64Array };

/** A stepper's life: disposal, calls in flight, and resources released once both are over. @internal */
export interface StepperLifetime {
  /** Whether `dispose` was called. */
  readonly disposed: boolean;
  /** Marks the stepper disposed; `release` runs now, or when the last call in flight settles. */
  dispose(release?: () => void): void;
  /** Wraps run/vjp/jacobian in place: refused after dispose, failing with "disposed during run" when disposed mid-call. */
  guard<S extends Guarded>(stepper: S): S;
}

/**
 * A stepper's lifetime: `run` and `vjp` fail with a clear "disposed during run" error when `dispose()` is called
 * while they are in flight (whatever the backend reported meanwhile), `jacobian` refuses after dispose on every
 * backend, and GPU buffers are released only once no call still uses them. @internal
 *
 * @example
 * const life = stepperLifetime();
 * const stepper = life.guard({ run, vjp, jacobian, dispose: () => life.dispose(() => buffer.destroy()) });
 */
export function stepperLifetime(): StepperLifetime {
  let disposed = false, inFlight = 0;
  let pending: (() => void) | undefined;
  const settle = () => {
    if (--inFlight === 0 && pending !== undefined) {
      const release = pending;
      pending = undefined;
      release();
    }
  };
  const wrap = <A extends unknown[], R>(what: string, f: (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (disposed) throw disposedError(what);
      inFlight++;
      let result: R;
      try {
        result = await f(...args);
      } catch (e) {
        if (disposed) throw disposedError(what, true);
        throw e;
      } finally {
        settle();
      }
      if (disposed) throw disposedError(what, true);
      return result;
    };
  return {
    get disposed() {
      return disposed;
    },
    dispose(release) {
      if (disposed) return;
      disposed = true;
      if (inFlight === 0) release?.();
      else pending = release;
    },
    guard(stepper) {
      const { run, vjp, jacobian } = stepper;
      stepper.run = wrap('run', run.bind(stepper)) as typeof stepper.run;
      stepper.vjp = wrap('vjp', vjp.bind(stepper)) as typeof stepper.vjp;
      if (stepper.lyapunov) stepper.lyapunov = wrap('lyapunov', stepper.lyapunov.bind(stepper)) as typeof stepper.lyapunov;
      stepper.jacobian = ((...args: never[]) => {
        if (disposed) throw disposedError('jacobian');
        return jacobian.apply(stepper, args);
      }) as typeof stepper.jacobian;
      return stepper;
    },
  };
}
