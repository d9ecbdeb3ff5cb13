// src/systemd logging against a real systemd-journald (private mount namespace, scripts/harness/journald.ts):
// what createLogger() sends is read back with `journalctl -o json`, field by field.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, releaseDir } from '../../scripts/harness/cleanup.js';
import type { JournaldHarness } from '../../scripts/harness/journald.js';
import { fieldText, startJournald } from '../../scripts/harness/journald.js';
import { MessageId } from '../../src/systemd/message-ids.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Node 20 cannot run TypeScript: transpile src/systemd into a temp dir (beside a node_modules link,
 * so the native packages resolve) for the child process that logs from inside the namespace.
 */
function buildSystemdModule(into: string): string {
  const src = join(projectRoot, 'src/systemd');
  const out = join(into, 'systemd');
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(src, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    writeFileSync(join(out, file.replace(/\.ts$/, '.js')), outputText);
  }
  writeFileSync(join(into, 'package.json'), '{"type":"module"}\n');
  symlinkSync(join(projectRoot, 'node_modules'), join(into, 'node_modules'));
  return out;
}

function runProcess(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const proc = spawn(command, args, { cwd });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    proc.once('error', fail);
    proc.once('close', (code) => done({ code, stdout, stderr }));
  });
}

// The child: logs through createLogger() (sink chosen by the socket check) and prints sink and pid.
const CHILD = `
import { createLogger, MessageId } from './systemd/index.js';
const log = createLogger();
log.err('pull of quay.io/a/b:1 failed', {
  messageId: MessageId.ImagePullFailed,
  image: 'quay.io/a/b:1',
  boundSource: '/usr/share/containers/systemd/b.image',
  jobId: 42,
  root: '/sysroot',
  attempts: 3,
  registryPassword: 's3cret',
  error: 'GET https://bob:s3cret@quay.io/v2/a/b/manifests/1: 401\\nsecond line',
});
log.child({ jobId: 42 }).info('reconcile started', { messageId: MessageId.ReconcileStarted, roots: '/ /sysroot' });
log.debug('a debug line the default minimum priority drops', { jobId: 42 });
process.stdout.write(JSON.stringify({ sink: log.sink, pid: process.pid }));
`;

let journald: JournaldHarness;
let work: string;

beforeAll(async () => {
  work = makeTempDir('log-child');
  buildSystemdModule(work);
  writeFileSync(join(work, 'child.mjs'), CHILD);
  journald = await startJournald();
});

afterAll(async () => {
  await journald?.stop();
  if (work) releaseDir(work);
});

describe('createLogger against a real journald', () => {
  let child: { sink: string; pid: number };

  beforeAll(async () => {
    const result = await journald.run(process.execPath, [join(work, 'child.mjs')]);
    expect(result.stderr).toBe('');
    child = JSON.parse(result.stdout) as { sink: string; pid: number };
  });

  it('chooses the journal sink when the socket exists', () => {
    expect(child.sink).toBe('journal');
  });

  it('writes SYSLOG_IDENTIFIER, PRIORITY, MESSAGE_ID and the fields, read back with journalctl -o json', async () => {
    const [entry, ...more] = await journald.waitForEntries([`MESSAGE_ID=${MessageId.ImagePullFailed}`]);
    expect(more).toHaveLength(0);
    expect(entry).toBeDefined();
    const field = (name: string): string | undefined => fieldText(entry!, name);
    expect(field('SYSLOG_IDENTIFIER')).toBe('bound-imaged');
    expect(field('PRIORITY')).toBe('3');
    expect(field('MESSAGE_ID')).toBe(MessageId.ImagePullFailed);
    expect(field('MESSAGE')).toBe('pull of quay.io/a/b:1 failed');
    expect(field('IMAGE')).toBe('quay.io/a/b:1');
    expect(field('BOUND_SOURCE')).toBe('/usr/share/containers/systemd/b.image');
    expect(field('JOB_ID')).toBe('42');
    expect(field('ROOT')).toBe('/sysroot');
    expect(field('ATTEMPTS')).toBe('3');
    // Multi-line values survive the native protocol; credentials do not.
    expect(field('ERROR')).toBe('GET https://***@quay.io/v2/a/b/manifests/1: 401\nsecond line');
    expect(field('REGISTRY_PASSWORD')).toBe('[redacted]');
    // The entry came from the logging process itself (journald's trusted _PID).
    expect(field('_PID')).toBe(String(child.pid));
    expect(field('_TRANSPORT')).toBe('journal');
  });

  it('filters like the docs say: by identifier, MESSAGE_ID, JOB_ID and IMAGE', async () => {
    const ours = await journald.waitForEntries(['SYSLOG_IDENTIFIER=bound-imaged'], { count: 2 });
    expect(ours.map((e) => fieldText(e, 'MESSAGE'))).toEqual([
      'pull of quay.io/a/b:1 failed',
      'reconcile started',
    ]);
    const started = await journald.entries([`MESSAGE_ID=${MessageId.ReconcileStarted}`, 'JOB_ID=42']);
    expect(started.map((e) => [fieldText(e, 'PRIORITY'), fieldText(e, 'ROOTS')])).toEqual([
      ['6', '/ /sysroot'],
    ]);
    expect(await journald.entries(['IMAGE=quay.io/a/b:1'])).toHaveLength(1);
  });

  it('drops what is below the minimum priority, and never stores a credential', async () => {
    const all = await journald.entries();
    expect(all.some((e) => fieldText(e, 'MESSAGE')?.startsWith('a debug line'))).toBe(false);
    expect(JSON.stringify(all)).not.toContain('s3cret');
  });
});

describe('createLogger without a journal socket', () => {
  it('falls back to <N>-prefixed stderr lines with the key fields', async () => {
    // A namespace with an empty /run: no journal socket, whether or not the host runs journald.
    const noJournal = 'mount -t tmpfs tmpfs /run && exec "$0" "$@"';
    const result = await runProcess(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        '/bin/sh',
        '-c',
        noJournal,
        process.execPath,
        'child.mjs',
      ],
      work,
    );
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { sink: string }).sink).toBe('stderr');
    expect(result.stderr.split('\n')).toEqual([
      '<3>pull of quay.io/a/b:1 failed job=42 image=quay.io/a/b:1 root=/sysroot ' +
        'source=/usr/share/containers/systemd/b.image attempts=3 registry_password=[redacted] ' +
        'error="GET https://***@quay.io/v2/a/b/manifests/1: 401\\nsecond line"',
      '<6>reconcile started job=42 roots="/ /sysroot"',
      '',
    ]);
  });
});
