/**
 * The SDK's test runner: vitest, one test file after another (each starts its own `ssot serve`, and the machine
 * has two cores), with timeouts that fit tests that wait for token expiry and reconnection backoff. Files run in
 * Node; the React adapter's files ask for jsdom themselves (`// @vitest-environment jsdom`).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['verbose'],
  },
});
