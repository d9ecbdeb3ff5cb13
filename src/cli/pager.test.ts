// Which pager is used, and that the text reaches it (a real `sh -c` pipeline, not a terminal: the
// terminal case is tested end to end in test/integration/cli-tables.test.ts with script(1)).
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pagerCommand, pagerEnv, writePaged } from './pager.js';

const tty = { noPager: false, isTTY: true };

describe('pagerCommand', () => {
  it('none when stdout is not a terminal, or with --no-pager', () => {
    expect(pagerCommand({ noPager: false, isTTY: false, env: {} })).toBeNull();
    expect(pagerCommand({ noPager: true, isTTY: true, env: { PAGER: 'more' } })).toBeNull();
  });

  it('BOUND_IMAGES_PAGER, else PAGER, else less', () => {
    expect(pagerCommand({ ...tty, env: {} })).toBe('less');
    expect(pagerCommand({ ...tty, env: { PAGER: 'more -d' } })).toBe('more -d');
    expect(pagerCommand({ ...tty, env: { PAGER: 'more', BOUND_IMAGES_PAGER: 'most' } })).toBe('most');
  });

  it.each(['', '  ', 'cat'])('%j turns the pager off, also when PAGER names one', (value) => {
    expect(pagerCommand({ ...tty, env: { BOUND_IMAGES_PAGER: value, PAGER: 'less' } })).toBeNull();
  });
});

describe('pagerEnv', () => {
  it('gives less FRSXMK unless LESS is set', () => {
    expect(pagerEnv({ A: '1' })).toEqual({ A: '1', LESS: 'FRSXMK' });
    expect(pagerEnv({ LESS: '-R' })).toEqual({ LESS: '-R' });
  });
});

describe('writePaged', () => {
  it('without a pager, writes the text to the stream', async () => {
    const out = new PassThrough();
    await writePaged('a\nb\n', out, { noPager: true, isTTY: true, env: {} });
    expect(out.read()?.toString()).toBe('a\nb\n');
  });

  it('with a pager, the pager gets the text on stdin and the environment with LESS', async () => {
    const out = new PassThrough();
    const file = join(tmpdir(), `bound-images-pager-${process.pid}`);
    await writePaged('row 1\nrow 2\n', out, {
      ...tty,
      env: { PATH: process.env.PATH, BOUND_IMAGES_PAGER: `{ echo "LESS=$LESS"; cat; } > ${file}` },
    });
    expect(readFileSync(file, 'utf8')).toBe('LESS=FRSXMK\nrow 1\nrow 2\n');
    rmSync(file);
    expect(out.read()).toBeNull();
  });

  it('a pager that quits without reading is not an error', async () => {
    const out = new PassThrough();
    const big = 'x'.repeat(1 << 20);
    await writePaged(big, out, { ...tty, env: { PATH: process.env.PATH, BOUND_IMAGES_PAGER: 'true' } });
    expect(out.read()).toBeNull();
  });
});
