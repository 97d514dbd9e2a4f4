/**
 * The playground page (playground/index.html): a form for a Hamiltonian formula and a run, which it compiles
 * with darboux and runs on the page's WebGPU (or the CPU backend when the browser has none, or when asked), then
 * draws the phase portrait and the energy error with `plot` and shows the generated kernel. The form is kept in
 * the URL's hash, so a link shares the system. The last run is on `window.darbouxPlayground.lastRun` (numbers,
 * for the Chromium test and for the console). Built by scripts/build-browser.mjs, which points the import below
 * at the library bundle (../browser/darboux.js).
 */
import { compile, createRandom, DarbouxError, gpuInfo, methodNames, parse, plot, trajectoryFromRun, type Hamiltonian } from '../src/index.js';

/** What the form asks for. */
export interface PlaygroundSettings {
  H: string;
  q: string[];
  p: string[];
  params: Record<string, number>;
  method: string;
  dt: number;
  steps: number;
  batch: number;
  every: number;
  radius: number;
  seed: number;
  backend: 'auto' | 'gpu' | 'cpu';
}

/** One finished run, as numbers. */
export interface PlaygroundRun {
  settings: PlaygroundSettings;
  backend: 'cpu' | 'gpu';
  /** The adapter (GPU) or 'CPU (f64 JavaScript)'. */
  device: string;
  q0: number[];
  p0: number[];
  q: number[];
  p: number[];
  /** max over frames and members of |H − H₀| / |H₀|. */
  maxEnergyError: number;
  seconds: number;
}

const FIELDS = ['H', 'q', 'p', 'params', 'method', 'dt', 'steps', 'batch', 'every', 'radius', 'seed', 'backend'] as const;

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const field = (name: string) => byId<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(name);

/** A number field, or an OPTION error naming it. */
function numberField(name: string, rule: 'positive' | 'count' | 'integer'): number {
  const text = field(name).value.trim(), value = Number(text);
  const ok = text !== '' && Number.isFinite(value) && (rule === 'positive' ? value > 0 : Number.isSafeInteger(value) && (rule === 'integer' || value >= 1));
  if (!ok) throw new DarbouxError('OPTION', `${name} must be ${rule === 'positive' ? 'a positive number' : rule === 'count' ? 'a positive integer' : 'an integer'}, got '${text}'`, { [name]: text });
  return value;
}

const names = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** `k=1, lam=0.5` → { k: 1, lam: 0.5 }. */
function paramsField(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of names(text)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/.exec(item);
    if (!m || !Number.isFinite(Number(m[2]))) throw new DarbouxError('OPTION', `parameters take name=number pairs (k=1, lam=0.5), got '${item}'`, { item });
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The form's settings, validated. */
function readSettings(): PlaygroundSettings {
  return {
    H: field('H').value, q: names(field('q').value), p: names(field('p').value), params: paramsField(field('params').value),
    method: field('method').value, dt: numberField('dt', 'positive'), steps: numberField('steps', 'count'),
    batch: numberField('batch', 'count'), every: numberField('every', 'count'), radius: numberField('radius', 'positive'),
    seed: numberField('seed', 'integer'), backend: field('backend').value as PlaygroundSettings['backend'],
  };
}

/** Fills the form from the URL's hash (a shared link), leaving fields the hash does not name alone. */
function applyHash(): void {
  const shared = new URLSearchParams(location.hash.slice(1));
  for (const name of FIELDS) {
    const value = shared.get(name);
    if (value !== null) field(name).value = value;
  }
}

/** The form as a URL hash. */
function formHash(): string {
  return `#${new URLSearchParams(FIELDS.map((name) => [name, field(name).value])).toString()}`;
}

/** Initial states uniform in [−r, r] for every coordinate, from the seed. */
function initialStates(dof: number, batch: number, radius: number, seed: number): { q0: Float64Array; p0: Float64Array } {
  const rng = createRandom(seed);
  const draw = () => Float64Array.from({ length: batch * dof }, () => radius * (2 * rng.next() - 1));
  const q0 = draw();
  return { q0, p0: draw() };
}

/** max over frames and members of the relative energy error (absolute where H₀ = 0). */
function maxEnergyError(h: Hamiltonian, qs: Float64Array, ps: Float64Array, t: Float64Array, batch: number): number {
  const dof = h.dof, size = batch * dof;
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    const at = (f: number) => h.energy(qs.subarray(f * size + b * dof, f * size + (b + 1) * dof), ps.subarray(f * size + b * dof, f * size + (b + 1) * dof), t[f]!);
    const h0 = at(0);
    for (let f = 1; f < t.length; f++) worst = Math.max(worst, Math.abs(at(f) - h0) / (h0 === 0 ? 1 : Math.abs(h0)));
  }
  return worst;
}

/** Which backend `auto` means here, and what to say about it. */
async function describeDevice(): Promise<{ gpu: boolean; text: string }> {
  try {
    const info = await gpuInfo();
    return { gpu: true, text: `WebGPU: ${info.description} (${info.adapter}${info.adapter === 'hardware' ? '' : ', a software rasteriser'})` };
  } catch (e) {
    return { gpu: false, text: `No WebGPU here (${e instanceof Error ? e.message : String(e)}): runs use the CPU backend (f64 JavaScript).` };
  }
}

/**
 * Compiles and runs the settings' system, draws its plots into the page and returns the run's numbers.
 *
 * @example
 * const run = await window.darbouxPlayground.run(settings); // run.q: final positions, batch × dof
 */
async function runPlayground(settings: PlaygroundSettings, gpu: boolean): Promise<PlaygroundRun> {
  if (settings.every > settings.steps) throw new DarbouxError('OPTION', `record every (${settings.every}) must be at most steps (${settings.steps})`, {});
  const h = parse({ H: settings.H, q: settings.q, p: settings.p, params: settings.params });
  const backend = settings.backend === 'auto' ? (gpu ? 'gpu' : 'cpu') : settings.backend;
  const st = await compile(h, { method: settings.method, dt: settings.dt, backend });
  try {
    const { q0, p0 } = initialStates(h.dof, settings.batch, settings.radius, settings.seed);
    const start = performance.now();
    const result = await st.run({ q0, p0, steps: settings.steps, batch: settings.batch, record: settings.every });
    const seconds = (performance.now() - start) / 1000;
    const trajectory = trajectoryFromRun(result, { q0, p0, batch: settings.batch, dt: st.dt });
    const frames = trajectory.frames!;
    await plot.load();
    byId('phase').innerHTML = plot.phase(trajectory, { names: { q: settings.q[0]!, p: settings.p[0]! }, width: 520, height: 420 });
    byId('energy').innerHTML = plot.energy(trajectory, { hamiltonian: h, width: 640, height: 420 });
    byId('kernel').textContent = st.wgsl ?? st.source;
    const device = backend === 'gpu' ? (await gpuInfo()).description : 'CPU (f64 JavaScript)';
    return {
      settings, backend, device, seconds, q0: [...q0], p0: [...p0], q: [...result.q], p: [...result.p],
      maxEnergyError: maxEnergyError(h, frames.q, frames.p, frames.t, settings.batch),
    };
  } finally {
    st.dispose();
  }
}

/** Shows a run's summary, or an error. */
function report(run: PlaygroundRun | undefined, error?: unknown): void {
  const status = byId('status');
  if (error !== undefined) {
    status.dataset.kind = 'error';
    status.textContent = error instanceof DarbouxError ? `${error.code}: ${error.message}` : String(error);
    document.body.dataset.status = 'error';
    return;
  }
  const r = run!;
  status.dataset.kind = 'ok';
  status.textContent = `Ran ${r.settings.batch} trajectories × ${r.settings.steps} steps of ${r.settings.method} on the ${r.backend === 'gpu' ? 'GPU (WebGPU, f32)' : 'CPU (f64)'}.`;
  byId<HTMLOutputElement>('energy-error').value = r.maxEnergyError.toExponential(3);
  byId<HTMLOutputElement>('final-time').value = String(r.settings.steps * r.settings.dt);
  byId<HTMLOutputElement>('timing').value = `${r.seconds.toFixed(3)} s, ${Math.round((r.settings.steps * r.settings.batch) / Math.max(r.seconds, 1e-9)).toLocaleString('en')} trajectory-steps/s`;
  byId('results').hidden = false;
  document.body.dataset.status = 'done';
}

/** The page's state and entry points, for the console and the Chromium test. */
const playground: { lastRun: PlaygroundRun | undefined; run(settings: PlaygroundSettings): Promise<PlaygroundRun> } = {
  lastRun: undefined,
  run: async () => { throw new DarbouxError('INPUT', 'the playground is still loading', {}); },
};
(globalThis as { darbouxPlayground?: typeof playground }).darbouxPlayground = playground;

async function start(): Promise<void> {
  const method = field('method') as HTMLSelectElement;
  for (const name of methodNames()) method.add(new Option(name, name, name === 'leapfrog', name === 'leapfrog'));
  applyHash();
  const device = await describeDevice();
  byId('device').textContent = device.text;
  playground.run = (settings) => runPlayground(settings, device.gpu);
  const runButton = byId<HTMLButtonElement>('run');
  byId('share').addEventListener('click', (ev) => { ev.preventDefault(); history.replaceState(null, '', formHash()); });
  byId('system').addEventListener('submit', (ev) => {
    ev.preventDefault();
    runButton.disabled = true;
    document.body.dataset.status = 'running';
    byId('status').textContent = 'Running…';
    history.replaceState(null, '', formHash());
    void (async () => {
      try {
        playground.lastRun = await playground.run(readSettings());
        report(playground.lastRun);
      } catch (e) {
        report(undefined, e);
      } finally {
        runButton.disabled = false;
      }
    })();
  });
  runButton.disabled = false;
  document.body.dataset.status = 'ready';
}

void start();
