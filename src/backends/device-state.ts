/**
 * Device-resident states (`Stepper.upload`, `run({ state })`, `Stepper.download`): the checks every backend
 * shares, the dispatch of `run` between plain and state runs, and the host implementation (states kept in
 * Float64Arrays) that the CPU backend and any stepper without a device of its own use.
 */
import { DarbouxError, showValue } from '../errors.js';
import { checkCount, checkOptionsObject, checkStateArray, type Precision } from './input-checks.js';
import type { DeviceState, RunOptions, RunResult, StateRunOptions, StateRunResult, Stepper, UploadOptions } from './stepper.js';

/** A stepper before the device-state methods are added: `run` takes plain options only. */
export type PlainRunStepper<S extends Stepper = Stepper> = Omit<S, 'run' | 'upload' | 'download'> & { run(options: RunOptions): Promise<RunResult> };

/** What a device state must match to be run or downloaded by a stepper. */
export interface StateOwner {
  readonly backend: 'cpu' | 'gpu';
  readonly dof: number;
  /** Extra test (the GPU: the same device); returns a reason when the state does not belong. */
  foreign?(state: DeviceState): string | null;
}

/**
 * Checks the arguments of `upload` and returns the batch: q0 and p0 of batch × dof finite numbers (f32 range on
 * the GPU), INPUT naming the array otherwise.
 *
 * @example
 * const batch = checkUpload([1, 0], [0, 1], {}, 2); // 1
 */
export function checkUpload(q0: unknown, p0: unknown, options: UploadOptions | undefined, dof: number, precision: Precision = 'f64'): number {
  if (options !== undefined) checkOptionsObject('upload', options, '{ batch? }');
  const batch = checkCount('batch', options?.batch, 1, 1);
  const expected = batch * dof;
  checkStateArray('upload: q0', q0, expected, precision, `batch·dof = ${batch}·${dof} = ${expected}`);
  checkStateArray('upload: p0', p0, expected, precision, `batch·dof = ${batch}·${dof} = ${expected}`);
  return batch;
}

/**
 * Checks that `state` is a live device state this stepper can use (INPUT otherwise: not a state, disposed,
 * another backend, another dof, another device).
 *
 * @example
 * checkState(state, { backend: 'cpu', dof: 2 }, 'download');
 */
export function checkState(state: unknown, owner: StateOwner, what: string): asserts state is DeviceState {
  const s = state as Partial<DeviceState> | null;
  if (s === null || typeof s !== 'object' || typeof s.dispose !== 'function' || (s.backend !== 'cpu' && s.backend !== 'gpu')) {
    throw new DarbouxError('INPUT', `${what}: state must be a device state from stepper.upload(q0, p0), got ${showValue(state)}`, { value: showValue(state) });
  }
  if (s.disposed) throw new DarbouxError('INPUT', `${what}: this state was disposed; upload the states again`, { disposed: true });
  if (s.backend !== owner.backend || s.dof !== owner.dof) {
    throw new DarbouxError('INPUT', `${what}: the state was uploaded by a ${s.backend} stepper of ${s.dof} dof; this is a ${owner.backend} stepper of ${owner.dof} dof. Download it and upload it here`, {
      stateBackend: s.backend,
      stateDof: s.dof,
      backend: owner.backend,
      dof: owner.dof,
    });
  }
  const reason = owner.foreign?.(s as DeviceState) ?? null;
  if (reason !== null) throw new DarbouxError('INPUT', `${what}: ${reason}; download it and upload it here`, { reason });
}

/** Options a state run refuses (OPTION): what needs the states on the host. */
const HOST_ONLY_OPTIONS = ['record', 'recordInitial', 'memoryBudget', 'saveAt', 'saveAtSteps', 'section'] as const;

/**
 * Checks the options of a run on a device state: refuses q0/p0 next to `state` and the options that need the
 * states on the host (OPTION), a batch other than the state's, and a state this stepper cannot use (INPUT).
 *
 * @example
 * checkStateRun({ state, steps: 10 }, { backend: 'cpu', dof: 2 });
 */
export function checkStateRun(options: StateRunOptions, owner: StateOwner): void {
  checkOptionsObject('run', options, '{ state, steps, t0?, params? } or { q0, p0, steps, … }');
  const given = options as unknown as Record<string, unknown>;
  if (given.q0 !== undefined || given.p0 !== undefined) {
    throw new DarbouxError('OPTION', 'run: give either state (a device state from upload) or q0 and p0, not both', { option: 'state' });
  }
  for (const key of HOST_ONLY_OPTIONS) {
    if (given[key] !== undefined && given[key] !== false) {
      throw new DarbouxError('OPTION', `run: ${key} is not available with state (the states stay on the device); run with q0, p0 or download the state`, { option: key });
    }
  }
  if (given.onFailure !== undefined && given.onFailure !== 'throw') {
    throw new DarbouxError('OPTION', `run: onFailure ${showValue(given.onFailure)} is not available with state; only 'throw' (run with q0, p0 to get per-trajectory status)`, { option: 'onFailure' });
  }
  checkState(options.state, owner, 'run');
  if (options.batch !== undefined && options.batch !== options.state.batch) {
    throw new DarbouxError('INPUT', `run: batch ${showValue(options.batch)} differs from the state's batch ${options.state.batch}; leave batch out with state`, { batch: options.batch, stateBatch: options.state.batch });
  }
}

/**
 * `run` of a stepper with device states: a run on `state` when one is given, a plain run otherwise. Options
 * with neither state nor q0 and p0 are refused (OPTION).
 *
 * @example
 * stepper.run = dispatchRun(plainRun, stateRun) as Stepper['run'];
 */
export function dispatchRun(plain: (o: RunOptions) => Promise<RunResult>, onState: (o: StateRunOptions) => Promise<StateRunResult>): Stepper['run'] {
  const run = (options: RunOptions | StateRunOptions): Promise<RunResult | StateRunResult> => {
    const given = options as unknown as Record<string, unknown> | null;
    if (given !== null && typeof given === 'object' && given.state !== undefined) return onState(options as StateRunOptions);
    if (given !== null && typeof given === 'object' && !Array.isArray(given) && given.q0 === undefined && given.p0 === undefined) {
      throw new DarbouxError('OPTION', 'run needs either q0 and p0 (initial states) or state (a device state from upload)', { option: 'q0' });
    }
    return plain(options as RunOptions);
  };
  return run as Stepper['run'];
}

/** A state kept on the host in Float64Arrays. */
class HostState implements DeviceState {
  readonly backend = 'cpu' as const;
  disposed = false;
  constructor(
    readonly batch: number,
    readonly dof: number,
    public q: Float64Array,
    public p: Float64Array,
  ) {}
  dispose(): void {
    this.disposed = true;
    this.q = new Float64Array(0);
    this.p = new Float64Array(0);
  }
}

/**
 * Adds `upload`, `download` and state runs to a stepper whose states live on the host (the CPU backend): the
 * state holds Float64Arrays, and a run on it is a plain run from them whose result replaces them. `live`
 * throws when the stepper was disposed.
 *
 * @example
 * const stepper = withHostState(plainStepper, (what) => {
 *   if (life.disposed) throw disposedError(what);
 * });
 */
export function withHostState<S extends Stepper>(stepper: PlainRunStepper<S>, live: (what: 'upload' | 'download') => void): S {
  const owner: StateOwner = { backend: 'cpu', dof: stepper.dof, foreign: (s) => (s instanceof HostState ? null : 'the state was not made by upload') };
  const plain = stepper.run.bind(stepper);
  const full = stepper as unknown as S;
  full.run = dispatchRun(plain, async (options) => {
    checkStateRun(options, owner);
    const state = options.state as HostState;
    const { state: _state, batch: _batch, ...rest } = options;
    const result = await plain({ ...rest, q0: state.q, p0: state.p, batch: state.batch });
    if (!state.disposed) {
      state.q = result.q;
      state.p = result.p;
    }
    return result.stats === undefined ? { state } : { state, stats: result.stats };
  });
  full.upload = async (q0, p0, options) => {
    live('upload');
    const batch = checkUpload(q0, p0, options, stepper.dof);
    return new HostState(batch, stepper.dof, Float64Array.from(q0), Float64Array.from(p0));
  };
  full.download = async (state) => {
    live('download');
    checkState(state, owner, 'download');
    const s = state as HostState;
    return { q: s.q.slice(), p: s.p.slice() };
  };
  return full;
}
