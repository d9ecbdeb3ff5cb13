// Test projects: `unit` is pure logic and temp-dir file trees (no services);
// `integration` starts real services (registry, Podman, dbus-daemon, journald) through test/harness.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          // Seeded generators over Quadlet files and bound-images.d trees (hostile input).
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Real services share the 2-core machine: run integration files one at a time.
          fileParallelism: false,
          globalSetup: ['test/harness/global-setup.ts'],
        },
      },
    ],
  },
});
