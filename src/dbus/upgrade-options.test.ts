import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DBusErrorName, ServiceError } from './errors.js';
import { parseUpgradeOptions } from './upgrade-options.js';

const v = (signature: string, value: unknown) => ({ signature, value });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upgrade-options-'));
  await mkdir(join(dir, 'deploy'));
  await writeFile(join(dir, 'file'), 'x');
  await symlink(join(dir, 'deploy'), join(dir, 'link-to-dir'));
  await symlink(join(dir, 'file'), join(dir, 'link-to-file'));
  await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(raw: unknown): Promise<ServiceError> {
  try {
    await parseUpgradeOptions(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ServiceError);
    return err as ServiceError;
  }
  throw new Error('expected the options to be refused');
}

describe('parseUpgradeOptions', () => {
  it('gives the defaults for an empty dictionary', async () => {
    expect(await parseUpgradeOptions({})).toEqual({
      extraRoots: [],
      pullPolicy: 'missing',
      dryRun: false,
      gc: true,
    });
  });

  it('reads every known option', async () => {
    const o = await parseUpgradeOptions({
      root: v('s', join(dir, 'deploy')),
      'pull-policy': v('s', 'newer'),
      'dry-run': v('b', true),
      gc: v('b', false),
    });
    expect(o).toEqual({ extraRoots: [join(dir, 'deploy')], pullPolicy: 'newer', dryRun: true, gc: false });
  });

  it('resolves a root given through a symlink to its real path', async () => {
    const o = await parseUpgradeOptions({ root: v('s', join(dir, 'link-to-dir')) });
    expect(o.extraRoots).toEqual([join(dir, 'deploy')]);
  });

  it.each([
    [{ bogus: v('b', true) }, /unknown option 'bogus'.*root, pull-policy, dry-run, gc/],
    [{ 'dry-run': v('s', 'yes') }, /option 'dry-run' must be a boolean.*got type 's'/],
    [{ gc: v('u', 1) }, /option 'gc' must be a boolean.*got type 'u'/],
    [{ root: v('as', ['/']) }, /option 'root' must be a string/],
    [{ 'pull-policy': v('s', 'sometimes') }, /must be one of missing, always, newer, got 'sometimes'/],
    [{ root: v('s', 'relative/path') }, /must be an absolute path/],
    [{ root: v('s', '') }, /must be an absolute path/],
  ])('refuses %j', async (raw, message) => {
    const err = await rejection(raw);
    expect(err.errorName).toBe(DBusErrorName.InvalidArgs);
    expect(err.message).toMatch(message);
  });

  it('refuses a root that does not exist', async () => {
    const err = await rejection({ root: v('s', join(dir, 'missing')) });
    expect(err.message).toMatch(/does not exist/);
  });

  it('refuses a dangling symlink as root', async () => {
    const err = await rejection({ root: v('s', join(dir, 'dangling')) });
    expect(err.message).toMatch(/does not exist/);
  });

  it('refuses a file, and a symlink to a file, as root', async () => {
    expect((await rejection({ root: v('s', join(dir, 'file')) })).message).toMatch(/is not a directory/);
    const viaLink = await rejection({ root: v('s', join(dir, 'link-to-file')) });
    expect(viaLink.message).toMatch(/link-to-file' \(resolves to '.*\/file'\) is not a directory/);
  });

  it('refuses a path through a file', async () => {
    const err = await rejection({ root: v('s', join(dir, 'file', 'sub')) });
    expect(err.message).toMatch(/is not a directory/);
  });

  it('refuses a value that is not a dictionary of variants', async () => {
    expect((await rejection(['x'])).errorName).toBe(DBusErrorName.InvalidArgs);
    expect((await rejection(null)).errorName).toBe(DBusErrorName.InvalidArgs);
    expect((await rejection({ gc: true })).message).toMatch(/not a variant/);
  });

  it('shortens and cleans a huge or binary option name before echoing it', async () => {
    const err = await rejection({ ['x'.repeat(10_000) + '\n']: v('b', true) });
    expect(err.message.length).toBeLessThan(200);
    expect(err.message).not.toContain('\n');
  });
});
