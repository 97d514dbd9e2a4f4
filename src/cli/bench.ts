/**
 * `darboux bench`: a quick throughput measurement of a system: for each backend (the CPU, and the GPU when there
 * is one), method and batch size, the median wall time of `--steps` steps over `--repeats` timed runs after a
 * warm-up run (compilation and JIT excluded; on the GPU, upload and read-back included), as steps/s and
 * trajectory-steps/s (steps × batch per second).
 */
import { compile, gpuAvailable, gpuInfo, methodNames, type Stepper } from '../index.js';
import { COMMON_OPTIONS, listFlag, numberFlag, parseCommand, UsageError } from './args.js';
import { chooseStates, chooseSystem, STATE_OPTIONS, SYSTEM_HELP, SYSTEM_OPTIONS, type ChosenSystem } from './system.js';
import { printJson } from './output.js';
import { progressLine, type CliStreams } from './terminal.js';
import { timeRuns, type Timing } from './timing.js';

const OPTIONS = {
  ...COMMON_OPTIONS, ...SYSTEM_OPTIONS, ...STATE_OPTIONS,
  method: { type: 'string', multiple: true },
  dt: { type: 'string' },
  backend: { type: 'string' },
  steps: { type: 'string' },
  repeats: { type: 'string' },
} as const;

/** The usage text of `darboux bench` (its --help, and the message of a usage error). */
export const BENCH_USAGE = `Usage: darboux bench <system> [--method M,…] [--batch N,…] [--backend B] [options]

Measures throughput: for each backend, method and batch size, the median wall time of --steps steps over
--repeats timed runs after one warm-up run (compilation and JIT excluded; on the GPU, upload and read-back
included), reported as steps/s (steps of the whole batch) and trajectory-steps/s (steps × batch per second).

${SYSTEM_HELP}

Initial states: --init random --radius r --seed s around the model's state (the default, r = 0.1), or
  --q0 FILE --p0 FILE (one row is repeated for every trajectory).

Options:
  --method LIST          methods, comma-separated or repeated (default leapfrog): ${methodNames().join(', ')}
  --dt NUMBER            step size (default: the model's, else required)
  --steps N              steps per timed run (default 1000)
  --batch LIST           batch sizes, comma-separated (default 1,1024)
  --backend B            cpu, gpu, auto (the GPU when there is one, else the CPU) or all (default: the CPU, and the GPU when there is one)
  --repeats N            timed runs per measurement (default 5)
  (a member that fails — leaves the domain — stops there and is counted in a 'failed' column, not fatal)
  --json                 a JSON report on stdout instead of the table
  --quiet                no progress on stderr
  --help, -h             this help

Example:
  darboux bench --model henon-heiles --method leapfrog,rk4 --batch 1,64,4096 --steps 2000`;

/** One measurement. */
export interface BenchRow {
  backend: 'cpu' | 'gpu';
  method: string;
  batch: number;
  steps: number;
  seconds: Timing;
  stepsPerSecond: number;
  trajectoryStepsPerSecond: number;
  /** Members that failed (non-finite, or an implicit solve that did not converge) before the last step, if any. */
  failed?: number;
}

/** The backends a --backend value stands for, checking for a GPU where it matters. */
async function backendsOf(text: string | undefined): Promise<('cpu' | 'gpu')[]> {
  const b = text ?? 'all';
  if (b === 'cpu' || b === 'gpu') return [b];
  if (b === 'auto') return [(await gpuAvailable()) ? 'gpu' : 'cpu'];
  if (b === 'all') return (await gpuAvailable()) ? ['cpu', 'gpu'] : ['cpu'];
  throw new UsageError(`--backend takes cpu, gpu, auto or all, got '${b}'`, 'bench');
}

/** A comma-separated list of positive integers. */
function batchesOf(text: string | undefined): number[] {
  const items = listFlag(text) ?? ['1', '1024'];
  if (items.length === 0) throw new UsageError('--batch takes positive integers, e.g. --batch 1,1024', 'bench');
  return items.map((item) => numberFlag('bench', 'batch', item, { integer: true, positive: true })!);
}

/** Times one stepper at one batch size. */
async function measure(st: Stepper, chosen: ChosenSystem, values: Parameters<typeof chooseStates>[1], batch: number, steps: number, repeats: number): Promise<BenchRow> {
  const { q0, p0 } = chooseStates('bench', values, chosen, batch);
  // A member that leaves the domain (NaN) is counted, not fatal: a random cloud may reach an escape energy.
  let failed = 0;
  const seconds = await timeRuns(async () => {
    const res = await st.run({ q0, p0, batch, steps, onFailure: 'report' });
    failed = res.status?.filter((s) => !s.ok).length ?? 0;
  }, { repeats });
  const stepsPerSecond = steps / seconds.median;
  return { backend: st.backend, method: st.method, batch, steps, seconds, stepsPerSecond, trajectoryStepsPerSecond: stepsPerSecond * batch, ...(failed > 0 ? { failed } : {}) };
}

/**
 * `darboux bench`: exit 0 with the table (or --json), 1 on a failure (no GPU for --backend gpu, a diverged run).
 *
 * @example
 * await benchCommand(['--model', 'henon-heiles', '--batch', '1,256', '--json'], processStreams()); // 0
 */
export async function benchCommand(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseCommand('bench', argv, OPTIONS);
  if (values.help) { io.stdout.write(`${BENCH_USAGE}\n`); return 0; }
  const chosen = chooseSystem('bench', values);
  const methods = (values.method ?? ['leapfrog']).flatMap((m) => listFlag(m) ?? []);
  const dt = numberFlag('bench', 'dt', values.dt, { positive: true }) ?? chosen.model?.dt;
  if (dt === undefined) throw new UsageError('--dt is required (a positive step size)', 'bench');
  const steps = numberFlag('bench', 'steps', values.steps, { integer: true, positive: true }) ?? 1000;
  const repeats = numberFlag('bench', 'repeats', values.repeats, { integer: true, positive: true }) ?? 5;
  const batches = batchesOf(values.batch);
  const states = { ...values, init: values.init ?? (values.q0 === undefined ? 'random' : undefined) };
  const backends = await backendsOf(values.backend);
  const device = backends.includes('gpu') ? (await gpuInfo()).description : undefined;
  const total = backends.length * methods.length * batches.length;
  const bar = progressLine(io, { total, unit: 'measurements', label: 'bench', enabled: values.quiet !== true && (values.json !== true || io.stderr.isTTY === true), everyMs: 0 });
  const rows: BenchRow[] = [];
  for (const backend of backends) {
    for (const method of methods) {
      const st = await compile(chosen.hamiltonian, { method, dt, backend });
      try {
        for (const batch of batches) {
          rows.push(await measure(st, chosen, states, batch, steps, repeats));
          bar.update(rows.length);
        }
      } finally {
        st.dispose();
      }
    }
  }
  bar.finish();
  if (values.json) printJson(io, { command: 'bench', system: chosen.label, dof: chosen.hamiltonian.dof, dt, steps, repeats, ...(device ? { gpu: device } : {}), rows });
  else printTable(io, `${chosen.label} (dof ${chosen.hamiltonian.dof}), dt ${dt}, ${steps} steps, median of ${repeats}`, rows, device);
  return 0;
}

function printTable(io: CliStreams, title: string, rows: BenchRow[], device: string | undefined): void {
  const failures = rows.some((r) => r.failed !== undefined);
  const header = ['backend', 'method', 'batch', 'median s', 'steps/s', 'trajectory-steps/s', ...(failures ? ['failed'] : [])];
  const cells = rows.map((r) => [
    r.backend, r.method, String(r.batch), r.seconds.median.toPrecision(3), r.stepsPerSecond.toPrecision(3), r.trajectoryStepsPerSecond.toPrecision(3),
    ...(failures ? [String(r.failed ?? 0)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((s, i) => (i < 2 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ').trimEnd();
  const note = failures ? '\nfailed: members that left the domain (non-finite) or did not converge before the last step; they stop there' : '';
  io.stdout.write(`bench: ${title}${device ? `\nGPU: ${device}` : ''}\n${line(header)}\n${cells.map(line).join('\n')}${note}\n`);
}
