/**
 * The CPU limit for the ensemble rows of bench/peers.ts: a hand-written C Hénon–Heiles leapfrog (kick–drift–kick,
 * one force evaluation per step, the force reused between steps), structure of arrays in blocks of LANES (128)
 * trajectories whose step loop runs over the lanes (`omp simd`: gcc -O3 -march=native vectorizes it), f64 or
 * f32, one thread or OpenMP threads over the blocks. The source is written to a temporary folder and compiled
 * there; the program times its own runs (the initial state copied in before each clock starts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const C_SOURCE = String.raw`
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define LANES 128

static void leapfrog(REAL *restrict x, REAL *restrict y, REAL *restrict px, REAL *restrict py, long n, int steps, REAL dt) {
  const REAL h = dt, hh = (REAL)0.5 * dt;
  #pragma omp parallel for schedule(static)
  for (long b0 = 0; b0 < n; b0 += LANES) {
    REAL X[LANES], Y[LANES], PX[LANES], PY[LANES], FX[LANES], FY[LANES];
    for (int i = 0; i < LANES; i++) {
      X[i] = x[b0 + i]; Y[i] = y[b0 + i]; PX[i] = px[b0 + i]; PY[i] = py[b0 + i];
      FX[i] = -X[i] - 2 * X[i] * Y[i]; FY[i] = -Y[i] - X[i] * X[i] + Y[i] * Y[i];
    }
    for (int s = 0; s < steps; s++) {
      #pragma omp simd
      for (int i = 0; i < LANES; i++) {
        PX[i] += hh * FX[i]; PY[i] += hh * FY[i];
        X[i] += h * PX[i]; Y[i] += h * PY[i];
        FX[i] = -X[i] - 2 * X[i] * Y[i]; FY[i] = -Y[i] - X[i] * X[i] + Y[i] * Y[i];
        PX[i] += hh * FX[i]; PY[i] += hh * FY[i];
      }
    }
    for (int i = 0; i < LANES; i++) { x[b0 + i] = X[i]; y[b0 + i] = Y[i]; px[b0 + i] = PX[i]; py[b0 + i] = PY[i]; }
  }
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double d = *(const double *)a - *(const double *)b; return (d > 0) - (d < 0); }

int main(int argc, char **argv) {
  long n = atol(argv[1]); int steps = atoi(argv[2]), repeats = atoi(argv[3]); REAL dt = (REAL)atof(argv[4]);
  size_t bytes = n * sizeof(REAL);
  REAL *x0 = malloc(bytes), *y0 = malloc(bytes), *px0 = malloc(bytes), *py0 = malloc(bytes);
  REAL *x = malloc(bytes), *y = malloc(bytes), *px = malloc(bytes), *py = malloc(bytes);
  for (long b = 0; b < n; b++) { /* henonHeilesInitial of bench/handwritten-henon-heiles.ts */
    x0[b] = 0.2 * sin(1.7 * b); y0[b] = 0.2 * cos(0.9 * b); px0[b] = 0.2 * sin(2.3 * b + 1); py0[b] = 0.2 * cos(1.1 * b + 2);
  }
  double *times = malloc((repeats + 1) * sizeof(double));
  for (int r = 0; r <= repeats; r++) { /* run 0: warm-up */
    memcpy(x, x0, bytes); memcpy(y, y0, bytes); memcpy(px, px0, bytes); memcpy(py, py0, bytes);
    double t = now();
    leapfrog(x, y, px, py, n, steps, dt);
    times[r] = now() - t;
  }
  qsort(times + 1, repeats, sizeof(double), cmp);
  double checksum = 0;
  for (long b = 0; b < n; b++) checksum += (double)x[b] + (double)y[b] + (double)px[b] + (double)py[b];
  printf("{\"seconds\": %.9f, \"checksum\": %.17g}\n", times[1 + repeats / 2], checksum);
  return 0;
}
`;

/** One compiled variant of the C loop. */
export interface CEnsembleProgram {
  /** e.g. 'f64, 1 thread'. */
  label: string;
  /** Median seconds of `repeats` runs of n × steps (after one warm-up), and Σ(x + y + px + py) at the end. */
  run(n: number, steps: number, repeats: number, dt: number): { seconds: number; checksum: number } | string;
}

/**
 * Compiles the C loop (f64 and f32; one thread, and OpenMP with 2 threads where `-fopenmp` works) with `cc`
 * (default gcc) in a temporary folder. Returns the programs and the compiler line, or why there is none.
 *
 * @example
 * const c = compileCEnsemble();
 * if (typeof c !== 'string') console.log(c.programs[0]!.run(65536, 1000, 5, 0.01));
 */
export function compileCEnsemble(cc = process.env.CC ?? 'gcc'): { compiler: string; programs: CEnsembleProgram[]; skipped: string[]; cleanup(): void } | string {
  const version = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return `no C compiler (${cc}; Debian: apt-get install gcc)`;
  const dir = mkdtempSync(join(tmpdir(), 'darboux-peers-'));
  const source = join(dir, 'ensemble.c');
  writeFileSync(source, C_SOURCE);
  const programs: CEnsembleProgram[] = [], skipped: string[] = [];
  const flags = ['-O3', '-march=native', '-mprefer-vector-width=512', '-std=c11', '-D_POSIX_C_SOURCE=199309L'];
  for (const [real, name] of [['double', 'f64'], ['float', 'f32']] as const) {
    for (const threads of [1, 2]) {
      const exe = join(dir, `ensemble-${name}-${threads}`);
      const mode = threads === 1 ? '-fopenmp-simd' : '-fopenmp';
      const built = spawnSync(cc, [...flags, mode, `-DREAL=${real}`, source, '-o', exe, '-lm'], { encoding: 'utf8' });
      const label = `C ${name}, ${threads === 1 ? '1 thread' : 'OpenMP 2 threads'}`;
      if (built.status !== 0) {
        skipped.push(`${label}: ${cc} ${mode} failed (${(built.stderr ?? '').trim().split('\n')[0]})`);
        continue;
      }
      programs.push({
        label,
        run(n, steps, repeats, dt) {
          const env = { ...process.env, OMP_NUM_THREADS: String(threads), OMP_PROC_BIND: 'false' };
          const out = spawnSync(exe, [n, steps, repeats, dt].map(String), { encoding: 'utf8', env });
          if (out.status !== 0) return `${label} failed: ${(out.stderr ?? String(out.error)).trim()}`;
          return JSON.parse(out.stdout.trim()) as { seconds: number; checksum: number };
        },
      });
    }
  }
  const compiler = `${version.stdout.split('\n')[0]} ${flags.slice(0, 3).join(' ')}`;
  return { compiler, programs, skipped, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
