import { defineConfig } from 'vitest/config';

// The `forks` pool is required: environment variables that select Mesa/Vulkan only reach the
// driver from a process's main thread, and worker threads make the llvmpipe adapter fail.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
