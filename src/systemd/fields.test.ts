import { describe, expect, it } from 'vitest';
import { journalFieldName, toJournalFields } from './fields.js';
import { MessageId } from './message-ids.js';
import { REDACTED } from './redact.js';

describe('journalFieldName', () => {
  it.each([
    ['image', 'IMAGE'],
    ['boundSource', 'BOUND_SOURCE'],
    ['jobId', 'JOB_ID'],
    ['messageId', 'MESSAGE_ID'],
    ['imageId', 'IMAGE_ID'],
    ['durationMs', 'DURATION_MS'],
    ['IMAGE_ID', 'IMAGE_ID'],
    ['root2', 'ROOT2'],
  ])('%s → %s', (key, name) => expect(journalFieldName(key)).toBe(name));

  it.each(['bad-name', '_private', '2fast', '', 'with space', 'ümlaut'])(
    'refuses %j (journald would drop it)',
    (key) => expect(() => journalFieldName(key)).toThrow(/not valid/),
  );

  it.each(['message', 'priority', 'syslogIdentifier', 'SYSLOG_PID', 'codeFile'])(
    'refuses reserved %s',
    (key) => expect(() => journalFieldName(key)).toThrow(/reserved/),
  );

  it('refuses names longer than journald allows', () => {
    expect(() => journalFieldName('a'.repeat(65))).toThrow(/longer than 64/);
    expect(journalFieldName('a'.repeat(64))).toBe('A'.repeat(64));
  });
});

describe('toJournalFields', () => {
  it('maps, stringifies and keeps the order; undefined is left out', () => {
    expect(toJournalFields({ jobId: 4, image: 'quay.io/a/b:1', root: undefined, attempts: 3 })).toEqual([
      { name: 'JOB_ID', value: '4' },
      { name: 'IMAGE', value: 'quay.io/a/b:1' },
      { name: 'ATTEMPTS', value: '3' },
    ]);
    expect(toJournalFields(undefined)).toEqual([]);
  });

  it('redacts values of secret-named fields entirely, and credentials inside other values', () => {
    const out = toJournalFields({
      registryAuth: 'Ym9iOnMzY3JldA==',
      password: 's3cret',
      authToken: 42,
      error: 'GET https://bob:s3cret@r.example/v2/ failed',
      authFile: '/etc/auth.json',
    });
    expect(out).toEqual([
      { name: 'REGISTRY_AUTH', value: REDACTED },
      { name: 'PASSWORD', value: REDACTED },
      { name: 'AUTH_TOKEN', value: REDACTED },
      { name: 'ERROR', value: 'GET https://***@r.example/v2/ failed' },
      { name: 'AUTH_FILE', value: '/etc/auth.json' },
    ]);
  });

  it('replaces NUL bytes, which the native binding would truncate and over-read', () => {
    expect(toJournalFields({ error: 'a\0b' })).toEqual([{ name: 'ERROR', value: 'a\uFFFDb' }]);
  });

  it('accepts only a real MessageId as messageId', () => {
    expect(toJournalFields({ messageId: MessageId.ImagePulled })).toEqual([
      { name: 'MESSAGE_ID', value: MessageId.ImagePulled },
    ]);
    expect(() => toJournalFields({ messageId: 'ImagePulled' })).toThrow(/MessageId/);
    expect(() => toJournalFields({ messageId: MessageId.ImagePulled.toUpperCase() })).toThrow(/MessageId/);
  });

  it('refuses two keys that map to the same journal field', () => {
    expect(() => toJournalFields({ jobId: 1, JOB_ID: 2 })).toThrow(/both map to JOB_ID/);
  });

  it('refuses values that are neither strings nor numbers (untyped callers)', () => {
    const bad = { image: { name: 'x' } } as unknown as Record<string, string>;
    expect(() => toJournalFields(bad)).toThrow(/string or a number/);
  });
});
