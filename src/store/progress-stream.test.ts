import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseImageInspect, parseImageList, parseInfo, parseProgressLine } from './api-schema.js';
import { StoreError } from './errors.js';
import { readProgress } from './progress-stream.js';
import type { PullProgressEvent } from './types.js';

// Lines as Podman 4.3.1 wrote them.
const OK_LINES = [
  '{"status":"Pulling fs layer","progressDetail":{},"id":"4969bd5c5cd9"}',
  '{"status":"Downloading","progressDetail":{"current":512,"total":1024},"id":"4969bd5c5cd9"}',
  '{"status":"Download complete","progressDetail":{},"id":"4969bd5c5cd9"}',
];
const ERROR_LINE =
  '{"progressDetail":{},"errorDetail":{"message":"initializing source docker://127.0.0.1:5123/multi:nope: reading manifest nope in 127.0.0.1:5123/multi: manifest unknown: manifest unknown"},"error":"initializing source docker://127.0.0.1:5123/multi:nope: reading manifest nope in 127.0.0.1:5123/multi: manifest unknown: manifest unknown"}';

async function read(chunks: (string | Buffer)[]) {
  const events: PullProgressEvent[] = [];
  const outcome = await readProgress(Readable.from(chunks), (e) => events.push(e));
  return { events, outcome };
}

describe('readProgress', () => {
  it('reports every event and no error for a good pull', async () => {
    const { events, outcome } = await read([OK_LINES.join('\n') + '\n']);
    expect(outcome).toEqual({ lines: 3 });
    expect(events[1]).toEqual({ status: 'Downloading', id: '4969bd5c5cd9', current: 512, total: 1024 });
  });

  it('finds an error line inside the stream', async () => {
    const { outcome } = await read([OK_LINES[0] + '\n', ERROR_LINE + '\n']);
    expect(outcome.error).toMatch(/manifest unknown/);
  });

  it('reads to the end: an error line that is the last, unterminated line counts', async () => {
    const { outcome } = await read([OK_LINES.join('\n') + '\n', ERROR_LINE]);
    expect(outcome.error).toMatch(/manifest unknown/);
    expect(outcome.lines).toBe(4);
  });

  it('lines split across chunks, multibyte characters split across chunks', async () => {
    const line = '{"status":"Grüße","id":"x"}\n';
    const bytes = Buffer.from(OK_LINES[0] + '\n' + line);
    const cut = bytes.indexOf(Buffer.from('ü')) + 1; // inside the two-byte ü
    const { events } = await read([bytes.subarray(0, 10), bytes.subarray(10, cut), bytes.subarray(cut)]);
    expect(events.map((e) => e.status)).toEqual(['Pulling fs layer', 'Grüße']);
  });

  it('the first error is kept when there are several', async () => {
    const { outcome } = await read(['{"error":"first"}\n{"error":"second"}\n']);
    expect(outcome.error).toBe('first');
  });

  it('a stream that breaks off throws', async () => {
    const broken = new Readable({
      read() {
        this.push(OK_LINES[0] + '\n');
        this.destroy(new Error('aborted'));
      },
    });
    await expect(readProgress(broken)).rejects.toThrow('aborted');
  });

  it('a line that is not JSON is a StoreError', async () => {
    await expect(readProgress(Readable.from(['<html>\n']))).rejects.toBeInstanceOf(StoreError);
  });
});

describe('parseProgressLine', () => {
  it('errorDetail.message or error, whichever is there', () => {
    expect(parseProgressLine('{"errorDetail":{"message":"a"}}').error).toBe('a');
    expect(parseProgressLine('{"error":"b"}').error).toBe('b');
    expect(parseProgressLine('{"error":""}').error).toBe('pull failed (Podman gave no message)');
    expect(parseProgressLine('{"status":"x"}').error).toBeUndefined();
  });
});

describe('API answers are validated, not cast', () => {
  const ID = 'a'.repeat(64);

  it('info needs DockerRootDir and ServerVersion', () => {
    expect(parseInfo({ DockerRootDir: '/s', ServerVersion: '4.3.1', Other: 1 })).toEqual({
      rootDir: '/s',
      version: '4.3.1',
    });
    expect(() => parseInfo({ ServerVersion: '4' })).toThrow(/GET \/info: .*no DockerRootDir/);
    expect(() => parseInfo([])).toThrow(StoreError);
  });

  it('a listing maps ids, names without <none>:<none>, digests; null lists are empty', () => {
    const images = parseImageList([
      {
        Id: `sha256:${ID}`,
        RepoTags: ['r/a:1', 'r/a@sha256:' + 'b'.repeat(64)],
        RepoDigests: ['r/a@sha256:' + 'b'.repeat(64)],
        Created: 5,
        Size: 9,
      },
      { Id: ID, RepoTags: null, RepoDigests: [] },
      { Id: ID, RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] },
    ]);
    expect(images[0]).toEqual({
      id: `sha256:${ID}`,
      names: ['r/a:1', 'r/a@sha256:' + 'b'.repeat(64)],
      digests: ['r/a@sha256:' + 'b'.repeat(64)],
      created: 5,
      size: 9,
    });
    expect(images[1]).toEqual({ id: `sha256:${ID}`, names: [], digests: [] });
    expect(images[2]).toEqual({ id: `sha256:${ID}`, names: [], digests: [] });
  });

  it.each([
    [[{ RepoTags: [] }], /image 0\.Id is not an image id/],
    [[{ Id: 'xyz' }], /image 0\.Id is not an image id/],
    [[{ Id: 'a'.repeat(64), RepoTags: 'r/a:1' }], /image 0\.RepoTags is not a list of strings/],
    [[{ Id: 'a'.repeat(64), RepoDigests: [1] }], /image 0\.RepoDigests is not a list of strings/],
    [[{ Id: 'a'.repeat(64), Size: '9' }], /image 0\.Size is not a number/],
    [{ not: 'a list' }, /not a JSON array/],
  ])('rejects %j', (json, pattern) => {
    expect(() => parseImageList(json)).toThrow(pattern);
  });

  it('inspect turns the RFC 3339 Created into seconds', () => {
    const image = parseImageInspect(
      { Id: `sha256:${ID}`, RepoTags: ['r/a:1'], RepoDigests: [], Created: '2026-11-27T00:12:27.88Z' },
      'r/a:1',
    );
    expect(image.created).toBe(Math.floor(Date.parse('2026-11-27T00:12:27.88Z') / 1000));
    expect(() => parseImageInspect({ Id: ID, Created: 'yesterday' }, 'r/a:1')).toThrow(
      /GET \/images\/r\/a:1\/json: .*Created/,
    );
  });
});
