/**
 * Validation of `fit`'s options (every check runs before any work starts); the option types live in types.ts.
 */
import { closestName, DarbouxError, showValue } from '../errors.js';
import type { NeuralKind, NeuralModel } from '../models/neural/model.js';
import type { AdapterChoice } from '../runtime/index.js';
import type { FitOptions, LossName, RolloutOptions } from './types.js';

/** The losses each model kind supports; the first is the default. */
export const LOSSES_BY_KIND: Readonly<Record<NeuralKind, readonly LossName[]>> = {
  hnn: ['derivative', 'rollout'],
  mlpField: ['derivative'],
  sympnet: ['map', 'rollout'],
  lnn: ['acceleration'],
};

/** Every loss `fit` knows. */
export const LOSS_NAMES: readonly LossName[] = ['derivative', 'map', 'rollout', 'acceleration'];

/**
 * Every option `fit` reads (FitOptions and TrajectoryFitOptions; `signal` and `onProgress` are the cancellation and
 * progress options of runs and fits).
 */
export const FIT_OPTION_NAMES: readonly string[] = [
  'loss', 'steps', 'lr', 'batchSize', 'weightDecay', 'weightDecayMode', 'schedule', 'clipNorm', 'beta1', 'beta2', 'eps', 'seed',
  'backend', 'adapter', 'energyWeight', 'rollout', 'validation', 'validationEvery', 'checkEvery', 'maxSamplesPerDispatch',
  'method', 'horizon', 'gradient', 'solver', 'signal', 'onProgress', 'cpuLowering', 'threads',
];

/**
 * Refuses what no fit could mean, before anything else: options that are not an object, an option name `fit` does
 * not know (OPTION naming it and the closest known one) and a loss that does not exist (OPTION "unknown loss",
 * listing them).
 *
 * @example
 * checkFitOptionNames({ steps: 10, lrr: 1e-3 }); // throws OPTION: unknown option 'lrr' (did you mean 'lr'?)
 */
export function checkFitOptionNames(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new DarbouxError('OPTION', `fit: options must be an object with at least steps and lr, got ${showValue(options)}`, { value: showValue(options) });
  }
  for (const name of Object.keys(options)) {
    if (FIT_OPTION_NAMES.includes(name)) continue;
    const close = closestName(name, FIT_OPTION_NAMES);
    throw new DarbouxError(
      'OPTION',
      `fit: unknown option ${showValue(name)}${close === undefined ? '' : ` (did you mean '${close}'?)`}; the options are ${FIT_OPTION_NAMES.join(', ')}`,
      { option: name, ...(close === undefined ? {} : { closest: close }) },
    );
  }
  const loss = (options as { loss?: unknown }).loss;
  if (loss !== undefined && !(LOSS_NAMES as readonly unknown[]).includes(loss)) {
    const close = typeof loss === 'string' ? closestName(loss, LOSS_NAMES) : undefined;
    throw new DarbouxError(
      'OPTION',
      `fit: unknown loss ${showValue(loss)}${close === undefined ? '' : ` (did you mean '${close}'?)`}; the losses are ${LOSS_NAMES.map((l) => `'${l}'`).join(', ')}`,
      { option: 'loss', value: loss, losses: [...LOSS_NAMES] },
    );
  }
}

/** Options with every default filled in. */
export interface ResolvedFitOptions {
  loss: LossName;
  steps: number;
  lr: number;
  /** undefined: every sample in every step. */
  batchSize: number | undefined;
  weightDecay: number;
  decoupled: boolean;
  cosine: boolean;
  clipNorm: number;
  beta1: number;
  beta2: number;
  eps: number;
  seed: number;
  backend: 'cpu' | 'gpu';
  adapter?: AdapterChoice;
  energyWeight: number;
  rollout?: RolloutOptions;
  validationEvery: number;
  checkEvery: number;
  maxSamplesPerDispatch: number;
  cpuLowering: 'auto' | 'batched' | 'perSample';
  /** CPU gradient threads; undefined: chosen by measuring the first steps. */
  threads: number | undefined;
}

const positiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The `threads` option: undefined, or an integer from 1 to 256 (OPTION otherwise). */
function threadCount(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 256) {
    throw new DarbouxError('OPTION', `fit: threads must be an integer from 1 to 256 (CPU gradient threads; leave it out to choose by the work), got ${showValue(value)}`, { option: 'threads', value: showValue(value) });
  }
  return value;
}

/**
 * Validates `fit` options against the model kind and fills in defaults; throws DarbouxError('OPTION') naming
 * the option and what is allowed.
 *
 * @example
 * const o = resolveFitOptions(model, { steps: 100, lr: 1e-3 });
 */
export function resolveFitOptions(model: NeuralModel, options: FitOptions): ResolvedFitOptions {
  checkFitOptionNames(options);
  const allowed = LOSSES_BY_KIND[model.kind];
  if (allowed === undefined) throw new DarbouxError('SPEC', `fit: unknown model kind ${showValue(model.kind)}; expected hnn, mlpField, sympnet or lnn`);
  const loss = options.loss ?? allowed[0]!;
  if (!allowed.includes(loss)) {
    throw new DarbouxError('OPTION', `fit: loss ${showValue(loss)} does not apply to a ${model.kind} model; use ${allowed.map((l) => `'${l}'`).join(' or ')}`, { option: 'loss', value: loss, kind: model.kind });
  }
  if (!positiveInteger(options.steps)) throw new DarbouxError('OPTION', `fit: steps must be a positive integer, got ${showValue(options.steps)}`, { option: 'steps', value: options.steps });
  if (!finite(options.lr) || options.lr <= 0) throw new DarbouxError('OPTION', `fit: lr must be a finite number > 0, got ${showValue(options.lr)}`, { option: 'lr', value: options.lr });
  const batchSize = options.batchSize;
  if (batchSize !== undefined && !positiveInteger(batchSize)) throw new DarbouxError('OPTION', `fit: batchSize must be a positive integer, got ${showValue(options.batchSize)}`, { option: 'batchSize', value: options.batchSize });
  const nonNegative = (name: keyof FitOptions, v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!finite(v) || v < 0) throw new DarbouxError('OPTION', `fit: ${name} must be a finite number ≥ 0, got ${showValue(v)}`, { option: name, value: v });
    return v;
  };
  const unit = (name: keyof FitOptions, v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!finite(v) || v < 0 || v >= 1) throw new DarbouxError('OPTION', `fit: ${name} must be in [0, 1), got ${showValue(v)}`, { option: name, value: v });
    return v;
  };
  const oneOf = <T extends string>(name: keyof FitOptions, v: unknown, values: readonly T[]): T => {
    if (v === undefined) return values[0]!;
    if (!values.includes(v as T)) throw new DarbouxError('OPTION', `fit: ${name} must be ${values.map((x) => `'${x}'`).join(' or ')}, got ${showValue(v)}`);
    return v as T;
  };
  const eps = options.eps ?? 1e-8;
  if (!finite(eps) || eps <= 0) throw new DarbouxError('OPTION', `fit: eps must be a finite number > 0, got ${showValue(options.eps)}`, { option: 'eps', value: options.eps });
  const seed = options.seed ?? 0;
  if (!finite(seed) || !Number.isInteger(seed)) throw new DarbouxError('OPTION', `fit: seed must be an integer, got ${showValue(options.seed)}`, { option: 'seed', value: options.seed });
  const energyWeight = nonNegative('energyWeight', options.energyWeight, 0);
  if (energyWeight > 0 && model.kind !== 'hnn') {
    throw new DarbouxError('OPTION', `fit: energyWeight needs a Hamiltonian (an hnn model); a ${model.kind} model has none`);
  }
  if (loss === 'rollout') checkRollout(model, options.rollout);
  const validationEvery = options.validationEvery ?? 1;
  if (!positiveInteger(validationEvery)) throw new DarbouxError('OPTION', `fit: validationEvery must be a positive integer, got ${showValue(validationEvery)}`, { option: 'validationEvery', value: validationEvery });
  const checkEvery = options.checkEvery ?? 100;
  if (!positiveInteger(checkEvery)) throw new DarbouxError('OPTION', `fit: checkEvery must be a positive integer, got ${showValue(checkEvery)}`, { option: 'checkEvery', value: checkEvery });
  const maxSamplesPerDispatch = options.maxSamplesPerDispatch ?? Number.MAX_SAFE_INTEGER;
  if (!positiveInteger(maxSamplesPerDispatch)) throw new DarbouxError('OPTION', `fit: maxSamplesPerDispatch must be a positive integer, got ${showValue(options.maxSamplesPerDispatch)}`, { option: 'maxSamplesPerDispatch', value: options.maxSamplesPerDispatch });
  const clipNorm = options.clipNorm ?? 0;
  if (!finite(clipNorm) || clipNorm < 0) throw new DarbouxError('OPTION', `fit: clipNorm must be a finite number > 0 (or 0 for no clipping), got ${showValue(options.clipNorm)}`, { option: 'clipNorm', value: options.clipNorm });
  return {
    loss,
    steps: options.steps,
    lr: options.lr,
    batchSize,
    weightDecay: nonNegative('weightDecay', options.weightDecay, 0),
    decoupled: oneOf('weightDecayMode', options.weightDecayMode, ['l2', 'decoupled'] as const) === 'decoupled',
    cosine: oneOf('schedule', options.schedule, ['constant', 'cosine'] as const) === 'cosine',
    clipNorm,
    beta1: unit('beta1', options.beta1, 0.9),
    beta2: unit('beta2', options.beta2, 0.999),
    eps,
    seed,
    backend: oneOf('backend', options.backend, ['cpu', 'gpu'] as const),
    adapter: options.adapter,
    energyWeight,
    rollout: options.rollout,
    validationEvery,
    checkEvery,
    maxSamplesPerDispatch,
    cpuLowering: oneOf('cpuLowering', options.cpuLowering, ['auto', 'batched', 'perSample'] as const),
    threads: threadCount(options.threads),
  };
}

function checkRollout(model: NeuralModel, r: RolloutOptions | undefined): void {
  if (r === undefined || r === null || typeof r !== 'object') {
    throw new DarbouxError('OPTION', `fit: loss 'rollout' needs rollout: { steps${model.kind === 'hnn' ? ', method, dt' : ''} }`);
  }
  if (!positiveInteger(r.steps)) throw new DarbouxError('OPTION', `fit: rollout.steps must be a positive integer, got ${showValue(r.steps)}`, { option: 'rollout.steps', value: r.steps });
  if (model.kind === 'hnn') {
    if (typeof r.method !== 'string') throw new DarbouxError('OPTION', "fit: rollout.method must name an explicit method (e.g. 'leapfrog', 'rk4')");
    if (!finite(r.dt) || r.dt <= 0) throw new DarbouxError('OPTION', `fit: rollout.dt must be a finite number > 0, got ${showValue(r.dt)}`, { option: 'rollout.dt', value: r.dt });
  }
}
