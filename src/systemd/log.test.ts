import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createJournalSink } from './journal-sink.js';
import { createLogger } from './log.js';
import { MessageId } from './message-ids.js';
import { createStderrSink } from './stderr-sink.js';

/** A stream that keeps what is written, line by line. */
function capture(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

const dir = mkdtempSync(join(tmpdir(), 'bound-imaged-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createLogger: sink choice', () => {
  it('auto picks the journal when its socket exists at creation, stderr otherwise', () => {
    const socket = join(dir, 'socket');
    expect(createLogger({ journalSocket: socket }).sink).toBe('stderr');
    writeFileSync(socket, '');
    expect(createLogger({ journalSocket: socket }).sink).toBe('journal');
    // Checked once: removing the socket later does not change a logger already made.
    const made = createLogger({ journalSocket: socket });
    rmSync(socket);
    expect(made.sink).toBe('journal');
  });

  it('an explicit sink wins over the socket check', () => {
    expect(createLogger({ sink: 'stderr', journalSocket: '/' }).sink).toBe('stderr');
    expect(createLogger({ sink: 'journal', journalSocket: join(dir, 'none') }).sink).toBe('journal');
  });

  it('refuses a bad identifier or option', () => {
    expect(() => createLogger({ identifier: 'two words' })).toThrow(/identifier/);
    expect(() => createLogger({ identifier: '' })).toThrow(/identifier/);
    expect(() => createLogger({ minPriority: 'loud' as never })).toThrow(/priority/);
    expect(() => createLogger({ sink: 'syslog' as never })).toThrow(/sink/);
  });
});

describe('createLogger: stderr sink', () => {
  it('writes one <N>-prefixed line per message with the key fields', () => {
    const out = capture();
    const log = createLogger({ sink: 'stderr', stderr: out.stream });
    log.err('pull failed\nafter 3 attempts', {
      messageId: MessageId.ImagePullFailed,
      image: 'quay.io/a/b:1',
      jobId: 7,
    });
    log.notice('ready', { messageId: MessageId.DaemonReady });
    log.log('crit', 'store unusable', { root: '/sysroot' });
    expect(out.lines()).toEqual([
      '<3>pull failed\\nafter 3 attempts job=7 image=quay.io/a/b:1',
      '<5>ready',
      '<2>store unusable root=/sysroot',
    ]);
  });

  it('drops messages less severe than minPriority (default info)', () => {
    const out = capture();
    const log = createLogger({ sink: 'stderr', stderr: out.stream });
    log.debug('hidden');
    log.info('shown');
    const strict = createLogger({ sink: 'stderr', stderr: out.stream, minPriority: 'warning' });
    strict.info('hidden');
    strict.notice('hidden');
    strict.warning('warned');
    strict.err('failed');
    const all = createLogger({ sink: 'stderr', stderr: out.stream, minPriority: 'debug' });
    all.debug('debugged');
    expect(out.lines()).toEqual(['<6>shown', '<4>warned', '<3>failed', '<7>debugged']);
  });

  it('never lets credentials through, in the message or the fields', () => {
    const out = capture();
    const log = createLogger({ sink: 'stderr', stderr: out.stream });
    log.err('pull https://bob:s3cret@r.example/a:1 failed', {
      image: 'bob:s3cret@r.example/a:1',
      registryPassword: 's3cret',
      authToken: 's3cret',
      error: '{"auth":"czNjcmV0"}',
    });
    const [line] = out.lines();
    expect(line).toBe(
      '<3>pull https://***@r.example/a:1 failed image=***@r.example/a:1 registry_password=[redacted] auth_token=[redacted] error="{\\"auth\\":\\"***\\"}"',
    );
    expect(line).not.toMatch(/s3cret|czNjcmV0/);
  });

  it('child loggers add their fields; the message fields win', () => {
    const out = capture();
    const log = createLogger({ sink: 'stderr', stderr: out.stream });
    const job = log.child({ jobId: 9, root: '/a' });
    job.info('pulled', { image: 'x', root: '/b' });
    job.child({ image: 'y' }).info('removed');
    log.info('plain');
    expect(out.lines()).toEqual([
      '<6>pulled job=9 image=x root=/b',
      '<6>removed job=9 image=y root=/a',
      '<6>plain',
    ]);
  });

  it('throws on programming errors: a bad field name or messageId', () => {
    const log = createLogger({ sink: 'stderr', stderr: capture().stream });
    expect(() => log.info('x', { 'bad-name': 'v' })).toThrow(/not valid/);
    expect(() => log.info('x', { messageId: 'nope' })).toThrow(/MessageId/);
    expect(() => log.log('loud' as never, 'x')).toThrow(/priority/);
  });

  it('does not load the native journald binding', () => {
    createLogger({ sink: 'stderr', stderr: capture().stream }).err('x');
    const require = createRequire(import.meta.url);
    expect(Object.keys(require.cache)).not.toContain(require.resolve('systemd-journald'));
  });
});

describe('createJournalSink: fallback', () => {
  it('writes to the fallback, with one notice, when the binding cannot be loaded', () => {
    const out = capture();
    let loads = 0;
    const sink = createJournalSink({
      identifier: 'bound-imaged',
      fallback: createStderrSink(out.stream),
      load: () => {
        loads++;
        throw new Error('cannot load the native journald module: not built');
      },
    });
    sink.write('err', 'first', [{ name: 'IMAGE', value: 'x' }]);
    sink.write('info', 'second', []);
    expect(loads).toBe(1);
    expect(out.lines()).toEqual([
      '<3>journal logging unavailable, logging to stderr: cannot load the native journald module: not built',
      '<3>first image=x',
      '<6>second',
    ]);
  });

  it('passes SYSLOG_IDENTIFIER and the fields to the binding, and falls back when a send throws', () => {
    const out = capture();
    const sent: [string, string, Record<string, string>][] = [];
    const send = (priority: string) => (message: string, fields: Record<string, string>) => {
      if (message === 'boom') throw new TypeError('Arguments must be strings');
      sent.push([priority, message, fields]);
    };
    const binding = {
      emerg: send('emerg'),
      alert: send('alert'),
      crit: send('crit'),
      err: send('err'),
      warning: send('warning'),
      notice: send('notice'),
      info: send('info'),
      debug: send('debug'),
    };
    const sink = createJournalSink({
      identifier: 'bid',
      fallback: createStderrSink(out.stream),
      load: () => binding,
    });
    sink.write('warning', 'hello', [{ name: 'JOB_ID', value: '1' }]);
    sink.write('err', 'boom', []);
    expect(sent).toEqual([['warning', 'hello', { SYSLOG_IDENTIFIER: 'bid', JOB_ID: '1' }]]);
    expect(out.lines()).toEqual(['<3>boom', '<3>journal send failed: Arguments must be strings']);
  });
});
