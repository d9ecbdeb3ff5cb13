// Vitest global setup for integration tests: checks once that the machine has what the harness
// needs (so a missing package fails loudly once, not in every test), and reaps anything a killed
// earlier run left behind (processes, mounts, temp dirs).
import { execFileSync } from 'node:child_process';
import { reapStrays } from './cleanup.js';

const TOOLS = [
  'podman',
  'docker-registry',
  'dbus-daemon',
  'busctl',
  'htpasswd',
  'journalctl',
  'unshare',
  'nsenter',
  'setpriv',
  'script',
  'python3',
  'systemd-nspawn',
  'ostree',
  'pandoc',
  'man',
  'lexgrog',
];

export default function setup(): void {
  for (const tool of TOOLS) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`integration tests need '${tool}': run 'bash scripts/setup.sh' as root`);
    }
  }
  reapStrays();
}
