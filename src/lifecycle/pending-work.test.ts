import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MAX_PENDING, PENDING_WORK_FILE, PendingWork, type PendingEntry } from './pending-work.js';

const base = mkdtempSync(join(tmpdir(), 'pending-work-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => {
  const d = join(base, String(++n));
  mkdirSync(d);
  return d;
};
const log = { warning: vi.fn() };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('PendingWork', () => {
  it('keeps entries on disk and hands them to the next process, which runs the overdue ones', async () => {
    const dir = freshDir();
    const first = await PendingWork.open(dir, () => undefined, log);
    await first.schedule('staged-retry', Date.now() + 20, 'images of the staged deployment missing');
    await first.schedule('later', Date.now() + 3_600_000, 'in an hour');
    expect(first.next()?.key).toBe('staged-retry');
    first.close();
    const saved = JSON.parse(readFileSync(join(dir, PENDING_WORK_FILE), 'utf8')) as {
      pending: PendingEntry[];
    };
    expect(saved.pending.map((e) => e.key)).toEqual(['staged-retry', 'later']);

    await sleep(40);
    const due: string[] = [];
    const second = await PendingWork.open(dir, (e) => due.push(`default:${e.key}`), log);
    second.onDue('later', (e) => due.push(`own:${e.key}`));
    expect(second.list().map((e) => e.key)).toEqual(['staged-retry', 'later']);
    second.arm();
    await sleep(20);
    expect(due).toEqual(['default:staged-retry']);
    await second.flush();
    const left = JSON.parse(readFileSync(join(dir, PENDING_WORK_FILE), 'utf8')) as {
      pending: PendingEntry[];
    };
    expect(left.pending.map((e) => e.key)).toEqual(['later']);
    second.close();
  });

  it('runs the handler registered for a key, moves a rescheduled key, forgets a cancelled one', async () => {
    const dir = freshDir();
    const ran: string[] = [];
    const work = await PendingWork.open(dir, (e) => ran.push(`default:${e.key}`), log);
    work.arm();
    work.onDue('a', (e) => ran.push(`own:${e.key}:${e.reason}`));
    await work.schedule('a', Date.now() + 10_000, 'first');
    await work.schedule('a', Date.now() + 10, 'moved');
    await work.schedule('b', Date.now() + 300, 'cancelled');
    await work.cancel('b');
    await sleep(400);
    expect(ran).toEqual(['own:a:moved']);
    expect(work.next()).toBeUndefined();
    work.close();
  });

  it('tells listeners of every change (the idle monitor re-evaluates)', async () => {
    const work = await PendingWork.open(freshDir(), () => undefined, log);
    const seen = vi.fn();
    work.onChange(seen);
    await work.schedule('x', Date.now() + 60_000, 'r');
    await work.cancel('x');
    await work.cancel('x'); // not pending: no change
    expect(seen).toHaveBeenCalledTimes(2);
    work.close();
  });

  it('stays bounded: beyond MAX_PENDING the entry due last is dropped, with a warning', async () => {
    const work = await PendingWork.open(freshDir(), () => undefined, log);
    for (let i = 0; i <= MAX_PENDING; i++) await work.schedule(`k${i}`, Date.now() + 60_000 + i, 'r');
    expect(work.list().length).toBe(MAX_PENDING);
    expect(work.list().map((e) => e.key)).not.toContain(`k${MAX_PENDING}`);
    expect(log.warning).toHaveBeenCalledWith(expect.stringContaining(`dropping k${MAX_PENDING}`));
    work.close();
  });

  it('a damaged file is reported and resumes nothing', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, PENDING_WORK_FILE), '{"pending": [{"key": "", "dueAt": -1}]}');
    const warn = vi.fn();
    const work = await PendingWork.open(dir, () => undefined, { warning: warn });
    expect(work.list()).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('is damaged'), expect.anything());
  });
});
