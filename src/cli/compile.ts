/**
 * `darboux compile`: prints (or writes with -o) what darboux generates for a system and a method: the WGSL
 * kernel, the JavaScript runner, or the graph JSON of the Hamiltonian and of one step.
 */
import fs from 'node:fs';
import { compile, DarbouxError, type GpuStepper } from '../index.js';
import { emitWgslStepper, graphToJson, specializeParameters, stepProgram } from '../internals.js';
import { kernelExportWithoutDevice } from '../backends/gpu/kernel-export.js';
import { COMMON_OPTIONS, numberFlag, parseCommand, UsageError } from './args.js';
import { chooseSystem, SYSTEM_HELP, SYSTEM_OPTIONS } from './system.js';
import { backendFlag, STEPPER_OPTIONS } from './run.js';
import type { CliStreams } from './terminal.js';

const OPTIONS = {
  ...COMMON_OPTIONS, ...SYSTEM_OPTIONS, ...STEPPER_OPTIONS,
  emit: { type: 'string' },
  output: { type: 'string', short: 'o' },
  manifest: { type: 'string' },
} as const;

/** The usage text of `darboux compile` (its --help, and the message of a usage error). */
export const COMPILE_USAGE = `Usage: darboux compile <system> --emit wgsl|js|json [--method M] [--dt h] [-o FILE] [--manifest FILE]

Prints the generated code of one step of the method (default leapfrog):
  --emit wgsl   the WGSL compute kernel (entry point 'main'), emitted without a GPU; with --backend gpu, the
                complete module a GPU stepper dispatches (entry points main, mainChecked, mainRecord; needs an adapter)
  --emit js     the JavaScript runner of the f64 CPU backend (st.source)
  --emit json   the graph JSON (darboux's lossless graph format) of H and of one step: { method, dt, dof, names,
                params, hamiltonian, step }

${SYSTEM_HELP}

Options:
  --method NAME     integration method (default leapfrog)
  --dt NUMBER       step size (default: the model's, else 0.01; the kernels take it at run time)
  --backend B       cpu (default) or gpu (see --emit wgsl)
  --output, -o FILE write there instead of stdout
  --manifest FILE   with --emit wgsl: write the kernel's embedding manifest (JSON: WGSL, entry point, binding
                    table, state/params/uniform packing, status words, dispatch schedule); without --backend gpu
                    it is sized for WebGPU's compatibility-mode limits and llvmpipe's loop bound (recorded in it)
  --json            a JSON object { emit, method, dt, code } on stdout (output instead of code with -o;
                    manifest: its path with --manifest)
  --help, -h        this help

Example:
  darboux compile --H '(u^2+w^2)/2 + k*(x^2+y^2)/2' --q x,y --p u,w --params k=1 --method leapfrog --dt 0.01 --emit wgsl`;

/**
 * `darboux compile`.
 *
 * @example
 * await compileCommand(['--model', 'pendulum', '--emit', 'js'], processStreams()); // 0, JavaScript on stdout
 */
export async function compileCommand(argv: string[], io: CliStreams): Promise<number> {
  const { values } = parseCommand('compile', argv, OPTIONS);
  if (values.help) { io.stdout.write(`${COMPILE_USAGE}\n`); return 0; }
  const emit = values.emit;
  if (emit !== 'wgsl' && emit !== 'js' && emit !== 'json') throw new UsageError(`--emit takes wgsl, js or json${emit === undefined ? '' : `, got '${emit}'`}`, 'compile');
  const chosen = chooseSystem('compile', values);
  const h = chosen.hamiltonian;
  const method = values.method ?? 'leapfrog';
  const dt = numberFlag('compile', 'dt', values.dt, { positive: true }) ?? chosen.model?.dt ?? 0.01;
  const backend = backendFlag('compile', values.backend);
  if (backend === 'auto') throw new UsageError('--backend for compile is cpu or gpu', 'compile');
  if (values.manifest !== undefined && emit !== 'wgsl') throw new UsageError('--manifest needs --emit wgsl', 'compile');
  let code: string;
  let manifest: unknown;
  if (emit === 'js') {
    const st = await compile(h, { method, dt, backend: 'cpu' });
    code = st.source;
    st.dispose();
  } else if (emit === 'wgsl' && backend === 'gpu') {
    const st = (await compile(h, { method, dt, backend: 'gpu' })) as GpuStepper;
    code = st.wgsl;
    if (values.manifest !== undefined) manifest = st.exportKernel().toJSON();
    st.dispose();
  } else if (emit === 'wgsl') {
    code = emitWgslStepper(specializeParameters(stepProgram(h, method)), undefined, { record: false, checkEveryStep: false });
    if (values.manifest !== undefined) manifest = kernelExportWithoutDevice(stepProgram(h, method), dt).toJSON();
  } else {
    const program = stepProgram(h, method);
    if (program.implicit) throw new DarbouxError('OPTION', `--emit json: '${method}' is implicit (its step solves stage equations, which the graph format does not hold); emit an explicit method, or --emit js / wgsl`, { method });
    code = `${JSON.stringify({
      method, dt, dof: h.dof, names: h.names, params: h.paramsByName(),
      hamiltonian: graphToJson(h.H), step: graphToJson([program.next.q, program.next.p]),
    }, (_k, v) => (v instanceof Float64Array ? Array.from(v) : v))}\n`;
  }
  if (!code.endsWith('\n')) code += '\n';
  if (values.output !== undefined) {
    writeText(values.output, code);
    if (!values.quiet) io.stderr.write(`compile: wrote ${emit} (${code.length} characters) to ${values.output}\n`);
  }
  if (values.manifest !== undefined) {
    writeText(values.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    if (!values.quiet) io.stderr.write(`compile: wrote the kernel manifest to ${values.manifest}\n`);
  }
  const manifestField = values.manifest !== undefined ? { manifest: values.manifest } : {};
  if (values.json) io.stdout.write(`${JSON.stringify({ emit, method, dt, ...(values.output !== undefined ? { output: values.output } : { code }), ...manifestField })}\n`);
  else if (values.output === undefined) io.stdout.write(code);
  return 0;
}

/** Writes a file, a DarbouxError('INPUT') naming it when that fails. */
function writeText(path: string, text: string): void {
  try {
    fs.writeFileSync(path, text);
  } catch (e) {
    throw new DarbouxError('INPUT', `cannot write ${path}: ${(e as Error).message}`, { path });
  }
}
