// Vitest global setup for integration tests: builds nothing, only checks the machine has what the
// harness needs, so a missing package fails loudly once instead of in every test.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  for (const tool of ['podman', 'docker-registry', 'dbus-daemon', 'busctl', 'htpasswd']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`integration tests need '${tool}': run 'bash scripts/setup.sh' as root`);
    }
  }
}
