/** Training: losses, parameter gradients compiled for the CPU and GPU, Adam, and `fit`. */
export { fit, planTraining } from './fit.js';
export { LOSSES_BY_KIND, type FitOptions, type FitResult, type TrainingData, type RolloutOptions, type LossName } from './options.js';
export { lossGraph, type LossGraph, type LossColumn, type LossSettings } from './losses.js';
export { gradientProgram, paramLayout, packParams, unpackParams, type GradientProgram, type ParamLayout } from './gradient-program.js';
export { compileCpuGradient, type CpuBatchGradient } from './cpu-gradient.js';
export { emitSampleKernel } from './wgsl-training.js';
export { Adam, learningRate, clipFactor, type AdamSettings } from './adam.js';
export { minibatchSampler, seededUniform, type MinibatchSampler } from './minibatch.js';
