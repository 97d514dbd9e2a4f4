/**
 * Finding a WebGPU adapter through dawn.node: a hardware GPU if there is one, else Mesa's llvmpipe through
 * OpenGL ES/EGL (surfaceless), else SwiftShader's Vulkan ICD. Each attempt records why it failed, so that the
 * error thrown when nothing works says what was tried.
 */
import { existsSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { DarbouxError } from '../errors.js';
import {
  ADAPTER_CHOICES, SOFTWARE_ADAPTER_PACKAGES, SWIFTSHADER_ICD, describeAdapter, isSoftwareAdapter, parseAdapterChoice,
  type AdapterAttempt, type AdapterChoice, type FoundAdapter,
} from './adapter-info.js';

export {
  ADAPTER_CHOICES, SOFTWARE_ADAPTER_PACKAGES, SWIFTSHADER_ICD, describeAdapter, isSoftwareAdapter,
  type AdapterAttempt, type AdapterChoice, type FoundAdapter,
} from './adapter-info.js';

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
  return parseAdapterChoice(option ?? (process.env.DARBOUX_ADAPTER || undefined), option === undefined ? 'DARBOUX_ADAPTER' : 'the adapter option');
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
