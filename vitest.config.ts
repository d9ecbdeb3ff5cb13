// Test projects: `unit` is pure logic and temp-dir file trees (no services); `fuzz` runs seeded
// generators in CPU-heavy workers; `integration` starts real services (registry, Podman, dbus-daemon,
// journald, systemd in nspawn) through the harness in scripts/harness/ (its global setup checks the
// tools and reaps what an earlier run left).
// The projects run one after another (sequence.groupOrder): the fuzz workers would otherwise share
// the two cores with integration tests whose wall-clock bounds (pull timeouts, ping gaps, elapsed
// limits) assume a machine not busy with anything else of the suite.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Seeded generators over Quadlet files and bound-images.d trees (hostile input).
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 1 },
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
          globalSetup: ['scripts/harness/global-setup.ts'],
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
