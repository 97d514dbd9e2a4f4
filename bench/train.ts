/**
 * Training throughput (samples/s) of the spring HNN — H = w·tanh(W·[q; p] + b) (`hnn`, 200 tanh units; the torch script adds an output bias, which changes no gradient step cost), dof 1,
 * derivative-matching loss, Adam (lr 1e-3, L2 weight decay 1e-4), minibatches of 250 out of 1500 samples — on
 * the CPU and GPU backends, and of the same network and step in PyTorch on the CPU (bench/torch_spring_hnn.py,
 * when python3 can import torch). Also: gradient graph sizes, and what a host round trip per step costs on the
 * GPU (the price of keeping Adam on the host).
 * Run alone: npx tsx bench/train.ts (or as part of npm run bench).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fit, gpuAvailable, graphSize, hnn, releaseGpu } from '../src/index.js';
import { springSamples } from './training-widths.js';


/** A Python that can import torch: $DARBOUX_PYTHON, python3 on the PATH, or Debian's /usr/bin/python3 (python3-torch). */
function pythonWithTorch(): string | undefined {
  const candidates = [process.env.DARBOUX_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  return candidates.find((py) => {
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
}

function torchThroughput(python: string, steps: number, threads: number, dtype: 'float32' | 'float64'): { samplesPerSecond: number; threads: number; torch: string } | string {
  const script = fileURLToPath(new URL('./torch_spring_hnn.py', import.meta.url));
  const run = spawnSync(python, [script, '--steps', String(steps), '--batch', '250', '--hidden', '200', '--threads', String(threads), '--dtype', dtype], { encoding: 'utf8' });
  if (run.status !== 0) return `the PyTorch script failed: ${(run.stderr ?? String(run.error)).trim().split('\n').pop()}`;
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as { samplesPerSecond: number; threads: number; torch: string };
}

/** Prints the training benchmark. @example await trainingBench(); */
export async function trainingBench(): Promise<void> {
  console.log('\n## Training throughput: spring HNN (dof 1, 200 tanh units, derivative loss, batch 250, Adam)\n');
  const data = springSamples();
  const model = hnn({ dof: 1, hidden: [200], activation: 'tanh', seed: 0 });
  const options = { loss: 'derivative' as const, lr: 1e-3, weightDecay: 1e-4, batchSize: 250, seed: 0 };
  const h = model.hamiltonian!;
  const cpuWarm = await fit(model, data, { ...options, steps: 20, backend: 'cpu' });
  console.log(`graph (tensor nodes): H ${graphSize([h.H])}, per-sample loss ${cpuWarm.graph.loss}, loss + ∂loss/∂θ ${cpuWarm.graph.gradient}; θ: ${Object.values(model.params).reduce((s, v) => s + v.length, 0)} scalars`);
  const cpu = await fit(model, data, { ...options, steps: 300, backend: 'cpu' });
  console.log(`cpu (f64 JS):  ${cpu.samplesPerSecond.toFixed(0).padStart(9)} samples/s  (${((cpu.seconds / 300) * 1000).toFixed(2)} ms/step; loss ${cpu.history[0]!.toExponential(2)} → ${cpu.history.at(-1)!.toExponential(2)})`);
  if (await gpuAvailable()) {
    await fit(model, data, { ...options, steps: 20, backend: 'gpu' });
    const gpu = await fit(model, data, { ...options, steps: 300, backend: 'gpu' });
    const synced = await fit(model, data, { ...options, steps: 300, backend: 'gpu', checkEvery: 1 });
    console.log(`gpu (f32 WGSL): ${gpu.samplesPerSecond.toFixed(0).padStart(9)} samples/s  (${((gpu.seconds / 300) * 1000).toFixed(2)} ms/step; loss ${gpu.history[0]!.toExponential(2)} → ${gpu.history.at(-1)!.toExponential(2)})`);
    console.log(`gpu, reading the loss back every step (a host round trip, as host-side Adam would need): ${synced.samplesPerSecond.toFixed(0)} samples/s (${(synced.seconds / gpu.seconds).toFixed(2)}× the time)`);
    await releaseGpu();
  } else {
    console.log('gpu: no WebGPU adapter: skipped');
  }
  const python = pythonWithTorch();
  let defaultThreads = 0;
  if (python === undefined) {
    console.log('pytorch: not installed (Debian: apt-get install python3-torch; or set DARBOUX_PYTHON): skipped');
    return;
  }
  const rows: [string, number, 'float32' | 'float64'][] = [['default threads', 0, 'float32'], ['1 thread', 1, 'float32'], ['default threads', 0, 'float64']];
  for (const [label, threads, dtype] of rows) {
    const torch = torchThroughput(python, 300, threads, dtype);
    if (typeof torch === 'string') {
      console.log(`pytorch: ${torch}`);
      return;
    }
    if (label === '1 thread' && torch.threads === 1 && rows[0]![1] === 0 && defaultThreads === 1) continue;
    if (threads === 0) defaultThreads = torch.threads;
    console.log(`pytorch ${torch.torch} (cpu, ${dtype}, ${torch.threads} thread${torch.threads === 1 ? '' : 's'}): ${torch.samplesPerSecond.toFixed(0).padStart(9)} samples/s; darboux cpu (f64) / pytorch = ${(cpu.samplesPerSecond / torch.samplesPerSecond).toFixed(2)}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await trainingBench();
