import { describe, expect, it } from 'vitest';
import { formatStderrLine } from './stderr-sink.js';

describe('formatStderrLine', () => {
  it('prefixes the sd-daemon(3) priority level', () => {
    expect(formatStderrLine('emerg', 'm', [])).toBe('<0>m');
    expect(formatStderrLine('err', 'm', [])).toBe('<3>m');
    expect(formatStderrLine('warning', 'm', [])).toBe('<4>m');
    expect(formatStderrLine('debug', 'm', [])).toBe('<7>m');
  });

  it('appends key fields compactly, well-known ones first, MESSAGE_ID left out', () => {
    const line = formatStderrLine('err', 'pull failed', [
      { name: 'MESSAGE_ID', value: 'b3872a64eb504a15b3a2374430b7fd47' },
      { name: 'ATTEMPTS', value: '3' },
      { name: 'BOUND_SOURCE', value: '/usr/share/containers/systemd/a.image' },
      { name: 'IMAGE', value: 'quay.io/a/b:1' },
      { name: 'JOB_ID', value: '4' },
    ]);
    expect(line).toBe(
      '<3>pull failed job=4 image=quay.io/a/b:1 source=/usr/share/containers/systemd/a.image attempts=3',
    );
  });

  it('quotes values with spaces, quotes, = or control characters', () => {
    const line = formatStderrLine('err', 'x', [
      { name: 'ERROR', value: 'manifest unknown: "b"' },
      { name: 'Q', value: 'a=b' },
      { name: 'NL', value: 'one\ntwo' },
      { name: 'EMPTY', value: '' },
    ]);
    expect(line).toBe('<3>x error="manifest unknown: \\"b\\"" q="a=b" nl="one\\ntwo" empty=""');
  });

  it('keeps every message on one line', () => {
    const line = formatStderrLine('info', 'line1\nline2\r\tend\u0085\u2028\u0000', [
      { name: 'E', value: 'x\u2028y' },
    ]);
    expect(line).toBe('<6>line1\\nline2\\r\\tend\\u0085\\u2028\\u0000 e="x\\u2028y"');
    expect(line.split(/\r\n|[\n\r\u0085\u2028\u2029]/)).toHaveLength(1);
  });
});
