/**
 * Finding a WebGPU adapter through dawn.node: a hardware GPU if there is one, else Mesa's llvmpipe through
 * OpenGL ES/EGL (surfaceless), else SwiftShader's Vulkan ICD. Each attempt records why it failed, so that the
 * error thrown when nothing works says what was tried.
 */
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { DarbouxError } from '../errors.js';

/** Which kind of adapter runs the kernels. */
export type AdapterChoice = 'hardware' | 'llvmpipe' | 'swiftshader';

/** The adapter kinds, in the order tried when none is asked for. */
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['hardware', 'llvmpipe', 'swiftshader'];

/** Where Debian's `chromium` package puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Debian packages that provide the llvmpipe software adapter (and, last resort, SwiftShader). */
export const SOFTWARE_ADAPTER_PACKAGES = 'libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri';

/** An adapter found, with the dawn instance that must stay referenced while it is in use. */
export interface FoundAdapter {
  instance: GPU;
  adapter: GPUAdapter;
  kind: AdapterChoice;
  featureLevel: 'core' | 'compatibility';
}

/** One failed attempt: which adapter and why. */
export interface AdapterAttempt {
  kind: AdapterChoice;
  reason: string;
}

let globalsInstalled = false;

/**
 * Installs GPUBufferUsage, GPUMapMode, … on globalThis (once).
 *
 * @example
 * installWebGpuGlobals();
 * const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
 */
export function installWebGpuGlobals(): void {
  if (globalsInstalled) return;
  for (const [k, v] of Object.entries(globals as Record<string, unknown>)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  globalsInstalled = true;
}

/**
 * The adapter's vendor / architecture / device / description, joined, for messages and `gpuInfo`.
 *
 * @example
 * describeAdapter(adapter); // 'llvmpipe-llvm-15-0-6-256-bits- / OpenGL version 4.5 (Core Profile) Mesa 22.3.6'
 */
export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  return parts.length > 0 ? parts.join(' / ') : '(adapter gave no description)';
}

const SOFTWARE_NAME = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render|warp/i;

/**
 * Whether an adapter is a CPU implementation (by its fallback flag or its name).
 *
 * @example
 * if (isSoftwareAdapter(adapter)) console.log('software rendering:', describeAdapter(adapter));
 */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return info.isFallbackAdapter === true || SOFTWARE_NAME.test(describeAdapter(adapter));
}

/** Runs `f` with some environment variables set, restoring them afterwards (Mesa and Vulkan read them then). */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A software adapter that the default backends offered, kept in case llvmpipe and SwiftShader both fail. */
let softwareDefault: FoundAdapter | undefined;

async function tryHardware(): Promise<FoundAdapter | string> {
  const instance = create([]);
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return 'no adapter from the default backends (no GPU driver, or no Vulkan loader: libvulkan1)';
  if (isSoftwareAdapter(adapter)) {
    // Lavapipe is llvmpipe behind Vulkan; anything else software here is SwiftShader.
    const kind = /swiftshader/i.test(describeAdapter(adapter)) ? 'swiftshader' : 'llvmpipe';
    softwareDefault = { instance, adapter, kind, featureLevel: 'core' };
    return `the default adapter is a software one (${describeAdapter(adapter)}); trying the preferred software adapters first`;
  }
  return { instance, adapter, kind: 'hardware', featureLevel: 'core' };
}

async function tryLlvmpipe(): Promise<FoundAdapter | string> {
  // Mesa reads EGL_PLATFORM when dawn opens the EGL display (during requestAdapter), and only from the main
  // thread's environment: headless, without X11 or Wayland.
  return withEnv({ EGL_PLATFORM: 'surfaceless' }, async () => {
    const instance = create(['backend=opengl']);
    const adapter = await instance.requestAdapter({ featureLevel: 'compatibility' });
    if (!adapter) return `no OpenGL ES adapter through EGL (is Mesa installed? apt-get install ${SOFTWARE_ADAPTER_PACKAGES})`;
    return { instance, adapter, kind: 'llvmpipe' as const, featureLevel: 'compatibility' as const };
  });
}

async function trySwiftShader(): Promise<FoundAdapter | string> {
  const icd = process.env.DARBOUX_SWIFTSHADER_ICD ?? SWIFTSHADER_ICD;
  if (!existsSync(icd)) return `no SwiftShader Vulkan ICD at ${icd} (Debian package chromium)`;
  return withEnv({ VK_ICD_FILENAMES: icd }, async () => {
    const instance = create([]);
    const adapter = await instance.requestAdapter();
    if (!adapter) return `the SwiftShader ICD at ${icd} gave no adapter (is libvulkan1 installed?)`;
    return { instance, adapter, kind: 'swiftshader' as const, featureLevel: 'core' as const };
  });
}

const TRY: Record<AdapterChoice, () => Promise<FoundAdapter | string>> = {
  hardware: tryHardware,
  llvmpipe: tryLlvmpipe,
  swiftshader: trySwiftShader,
};

/**
 * The adapter asked for through the option or `DARBOUX_ADAPTER`, validated; undefined for "the best there is".
 *
 * @example
 * requestedAdapter('llvmpipe'); // 'llvmpipe'
 * requestedAdapter();           // process.env.DARBOUX_ADAPTER, or undefined
 */
export function requestedAdapter(option?: AdapterChoice): AdapterChoice | undefined {
  const raw = option ?? (process.env.DARBOUX_ADAPTER || undefined);
  if (raw === undefined || raw === 'auto') return undefined;
  if (!(ADAPTER_CHOICES as readonly string[]).includes(raw)) {
    const from = option === undefined ? 'DARBOUX_ADAPTER' : 'the adapter option';
    throw new DarbouxError('OPTION', `${from} is '${raw}'; use one of ${ADAPTER_CHOICES.join(', ')} (or leave it unset for the best available)`, { adapter: raw });
  }
  return raw as AdapterChoice;
}

/**
 * Finds an adapter: only `choice` when given, else hardware → llvmpipe → SwiftShader. Throws a
 * DarbouxError('DEVICE') listing every attempt and why it failed. Keep `instance` referenced while in use.
 *
 * @example
 * const { instance, adapter, kind } = await findAdapter(undefined);
 */
export async function findAdapter(choice: AdapterChoice | undefined): Promise<FoundAdapter> {
  installWebGpuGlobals();
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences Mesa's warnings in containers
  const order = choice ? [choice] : ADAPTER_CHOICES;
  const attempts: AdapterAttempt[] = [];
  softwareDefault = undefined;
  for (const kind of order) {
    let result: FoundAdapter | string;
    try {
      result = await TRY[kind]();
    } catch (e) {
      result = message(e);
    }
    if (typeof result !== 'string') return result;
    attempts.push({ kind, reason: result });
  }
  if (!choice && softwareDefault) {
    const found = softwareDefault;
    softwareDefault = undefined;
    return found;
  }
  const tried = attempts.map((a) => `  - ${a.kind}: ${a.reason}`).join('\n');
  throw new DarbouxError(
    'DEVICE',
    `no WebGPU adapter${choice ? ` of kind '${choice}'` : ''} could be acquired. Tried:\n${tried}\n` +
      `For a software adapter on Debian/Ubuntu: apt-get install ${SOFTWARE_ADAPTER_PACKAGES} (Mesa llvmpipe), ` +
      `or chromium (SwiftShader). Select one with DARBOUX_ADAPTER=hardware|llvmpipe|swiftshader.`,
    { attempts },
  );
}
