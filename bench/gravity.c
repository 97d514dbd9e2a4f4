/* Hand-written all-pairs softened gravity leapfrog (f32, one thread) for bench/gravity.ts.
   Usage: gravity N STEPS SOFTENING < positions and velocities (3N + 3N floats, text) ; prints seconds and x0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void accelerations(int n, const float *x, float *a, float gm, float eps2) {
  for (int i = 0; i < n; i++) {
    float ax = 0, ay = 0, az = 0;
    const float xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    for (int j = 0; j < n; j++) {
      const float dx = x[3 * j] - xi, dy = x[3 * j + 1] - yi, dz = x[3 * j + 2] - zi;
      const float r2 = dx * dx + dy * dy + dz * dz + eps2;
      const float inv = 1.0f / sqrtf(r2);
      const float s = inv * inv * inv;
      ax += dx * s; ay += dy * s; az += dz * s;
    }
    a[3 * i] = gm * ax; a[3 * i + 1] = gm * ay; a[3 * i + 2] = gm * az;
  }
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  const int n = atoi(argv[1]), steps = atoi(argv[2]);
  const float eps = (float)atof(argv[3]), dt = 1e-3f, gm = 1.0f / (float)n;
  float *x = malloc(sizeof(float) * 3 * n), *v = malloc(sizeof(float) * 3 * n), *a = malloc(sizeof(float) * 3 * n);
  for (int k = 0; k < 3 * n; k++) if (scanf("%f", &x[k]) != 1) return 3;
  for (int k = 0; k < 3 * n; k++) if (scanf("%f", &v[k]) != 1) return 3;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  accelerations(n, x, a, gm, eps * eps);
  for (int s = 0; s < steps; s++) {
    for (int k = 0; k < 3 * n; k++) { v[k] += 0.5f * dt * a[k]; x[k] += dt * v[k]; }
    accelerations(n, x, a, gm, eps * eps);
    for (int k = 0; k < 3 * n; k++) v[k] += 0.5f * dt * a[k];
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.6f %.6f\n", (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), x[0]);
  return 0;
}
