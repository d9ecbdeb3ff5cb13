import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig, OSTREE_AUTH_FILES } from '../config/schema.js';
import {
  AuthFileError,
  credentialFor,
  findGlobalAuthFile,
  loadAuthFile,
  normalizeAuthKey,
  parseAuthFile,
  registryAuthConfig,
  splitReference,
} from './auth.js';

const dir = mkdtempSync(join(tmpdir(), 'store-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 's3cr3t-Passw0rd';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function auths(entries: Record<string, unknown>) {
  return parseAuthFile('/etc/ostree/auth.json', JSON.stringify({ auths: entries }));
}

describe('splitReference', () => {
  it.each([
    ['127.0.0.1:5000/app:1', '127.0.0.1:5000', 'app'],
    ['quay.io/team/app@sha256:' + 'a'.repeat(64), 'quay.io', 'team/app'],
    ['localhost/app', 'localhost', 'app'],
    ['nginx', 'docker.io', 'library/nginx'],
    ['nginx:1.25', 'docker.io', 'library/nginx'],
    ['user/app:1', 'docker.io', 'user/app'],
    ['docker.io/library/nginx:latest', 'docker.io', 'library/nginx'],
    ['index.docker.io/library/nginx', 'docker.io', 'library/nginx'],
    ['registry:5000/app', 'registry:5000', 'app'],
  ])('%s → %s %s', (ref, registry, repository) => {
    expect(splitReference(ref)).toEqual({ registry, repository });
  });
});

describe('normalizeAuthKey', () => {
  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['index.docker.io', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['http://127.0.0.1:5000/v2/', '127.0.0.1:5000'],
    ['quay.io/team', 'quay.io/team'],
    ['quay.io', 'quay.io'],
  ])('%s → %s', (key, want) => {
    expect(normalizeAuthKey(key)).toBe(want);
  });
});

describe('credentialFor', () => {
  it('matches by registry host and port', () => {
    const f = auths({
      '127.0.0.1:5000': { auth: b64(`alice:${SECRET}`) },
      '127.0.0.1:6000': { auth: b64('bob:x') },
    });
    const c = credentialFor(f, '127.0.0.1:5000/app:1');
    expect(c?.username).toBe('alice');
    expect(c?.password).toBe(SECRET);
    expect(credentialFor(f, '127.0.0.1:6000/app')?.username).toBe('bob');
    expect(credentialFor(f, '127.0.0.1/app')).toBeUndefined();
    expect(credentialFor(f, '127.0.0.1:5001/app')).toBeUndefined();
  });

  it('the most specific namespace key wins', () => {
    const f = auths({
      'quay.io': { auth: b64('host:1') },
      'quay.io/team': { auth: b64('team:2') },
      'quay.io/team/app': { auth: b64('app:3') },
    });
    expect(credentialFor(f, 'quay.io/team/app:1')?.username).toBe('app');
    expect(credentialFor(f, 'quay.io/team/other:1')?.username).toBe('team');
    expect(credentialFor(f, 'quay.io/else/x')?.username).toBe('host');
    // A key is a path prefix by component, not by characters.
    expect(credentialFor(f, 'quay.io/teamster/x')?.username).toBe('host');
  });

  it('docker.io aliases are one registry, for keys and for references', () => {
    for (const key of [
      'docker.io',
      'index.docker.io',
      'https://index.docker.io/v1/',
      'registry-1.docker.io',
    ]) {
      const f = auths({ [key]: { auth: b64('hub:pw') } });
      expect(credentialFor(f, 'nginx')?.username).toBe('hub');
      expect(credentialFor(f, 'docker.io/library/nginx:latest')?.username).toBe('hub');
      expect(credentialFor(f, 'index.docker.io/user/app')?.username).toBe('hub');
      expect(credentialFor(f, 'quay.io/nginx')).toBeUndefined();
    }
  });

  it('an exact key beats an alias that normalizes to it', () => {
    const f = auths({
      'https://index.docker.io/v1/': { auth: b64('legacy:1') },
      'docker.io': { auth: b64('exact:2') },
    });
    expect(credentialFor(f, 'nginx')?.username).toBe('exact');
  });

  it('accepts username/password and identitytoken entries', () => {
    const f = auths({
      'a.example': { username: 'u', password: SECRET },
      'b.example': { identitytoken: 'tok' },
    });
    expect(credentialFor(f, 'a.example/x')).toMatchObject({ username: 'u', password: SECRET });
    expect(credentialFor(f, 'b.example/x')?.identityToken).toBe('tok');
  });

  it('an entry without credentials (a helper stub) means none, and stops the search', () => {
    const f = auths({ 'quay.io': { auth: b64('host:1') }, 'quay.io/team': {} });
    expect(credentialFor(f, 'quay.io/team/app')).toBeUndefined();
  });

  it('a password may contain colons', () => {
    const f = auths({ 'r.example': { auth: b64('u:a:b:c') } });
    expect(credentialFor(f, 'r.example/x')?.password).toBe('a:b:c');
  });
});

describe('malformed files: errors name the file and the registry key, never a secret', () => {
  it.each([
    ['not JSON', `{"auths": {"r.example": {"auth": "${b64(`u:${SECRET}`)}"}`, /not valid JSON/, undefined],
    ['not an object', '[1]', /not a JSON object/, undefined],
    ['auths not an object', '{"auths": []}', /"auths" is not a JSON object/, undefined],
    ['entry not an object', '{"auths": {"r.example": "x"}}', /entry is not a JSON object/, 'r.example'],
    ['auth not a string', '{"auths": {"r.example": {"auth": 5}}}', /"auth" is not a string/, 'r.example'],
    [
      'auth not base64',
      `{"auths": {"r.example": {"auth": "${SECRET}!!"}}}`,
      /"auth" is not base64/,
      'r.example',
    ],
    [
      'auth without colon',
      `{"auths": {"r.example": {"auth": "${b64(SECRET)}"}}}`,
      /does not decode to user:password/,
      'r.example',
    ],
    [
      'password without username',
      `{"auths": {"r.example": {"password": "${SECRET}"}}}`,
      /must both be strings/,
      'r.example',
    ],
  ])('%s', (_, text, pattern, key) => {
    let err: unknown;
    try {
      parseAuthFile('/etc/ostree/auth.json', text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuthFileError);
    const e = err as AuthFileError;
    expect(e.message).toMatch(pattern);
    expect(e.message).toContain('/etc/ostree/auth.json');
    expect(e.file).toBe('/etc/ostree/auth.json');
    expect(e.key).toBe(key);
    if (key) expect(e.message).toContain(`registry "${key}"`);
    const all = [String(e), e.stack, JSON.stringify(e), inspect(e, { showHidden: true })].join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(b64(`u:${SECRET}`));
  });

  it("a JSON error does not quote the file's text", () => {
    expect(() => parseAuthFile('/f', `{"auths": {"x": {"auth": "${SECRET}"}, }`)).toThrow(
      /^auth file \/f: not valid JSON$/,
    );
  });

  it('a file with no "auths" has no credentials', () => {
    expect(parseAuthFile('/f', '{"credHelpers": {"quay.io": "secretservice"}}').entries.size).toBe(0);
  });
});

describe('loadAuthFile', () => {
  it('a missing optional (global) file means no credentials', async () => {
    const f = await loadAuthFile(join(dir, 'absent.json'), { optional: true });
    expect(f.entries.size).toBe(0);
    expect(credentialFor(f, 'quay.io/x')).toBeUndefined();
  });

  it('a missing required (AuthFile=) file is an error naming it', async () => {
    await expect(loadAuthFile(join(dir, 'absent.json'), { optional: false })).rejects.toThrow(
      `auth file ${join(dir, 'absent.json')}: does not exist`,
    );
  });

  it('a malformed optional file is still an error', async () => {
    const path = file('bad.json', '{');
    await expect(loadAuthFile(path, { optional: true })).rejects.toThrow(`auth file ${path}: not valid JSON`);
  });

  it('an unreadable path (a directory) is an error even when optional', async () => {
    await expect(loadAuthFile(dir, { optional: true })).rejects.toThrow(/cannot be read \(EISDIR\)/);
  });

  it('reads a real file', async () => {
    const path = file(
      'good.json',
      JSON.stringify({ auths: { '127.0.0.1:5000': { auth: b64(`alice:${SECRET}`) } } }),
    );
    const f = await loadAuthFile(path, { optional: false });
    expect(f.path).toBe(path);
    expect(credentialFor(f, '127.0.0.1:5000/app')?.password).toBe(SECRET);
  });
});

describe('findGlobalAuthFile: the global pull secret is the first file of the list that exists', () => {
  /** A fresh directory with run/, etc/ and usr/lib/ (as a root), and the three candidates in ostree-ext's order. */
  function layout(): { root: string; candidates: string[]; write: (i: number, user: string) => string } {
    const root = mkdtempSync(join(dir, 'layout-'));
    const candidates = ['run/ostree/auth.json', 'etc/ostree/auth.json', 'usr/lib/ostree/auth.json'].map((p) =>
      join(root, p),
    );
    const write = (i: number, user: string): string => {
      const path = candidates[i] ?? '';
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, JSON.stringify({ auths: { 'r.example': { auth: b64(`${user}:${SECRET}`) } } }));
      return path;
    };
    return { root, candidates, write };
  }

  it('ostree-ext order: /run/ostree, then /etc/ostree, then /usr/lib/ostree (its globals.rs, as root)', () => {
    expect(OSTREE_AUTH_FILES).toEqual([
      '/run/ostree/auth.json',
      '/etc/ostree/auth.json',
      '/usr/lib/ostree/auth.json',
    ]);
    // ... and the daemon's rule when [pull] auth-file is not set.
    expect(defaultConfig().pull.authFiles).toEqual(OSTREE_AUTH_FILES);
  });

  it('none existing: no credentials (anonymous pulls), and the result names the paths searched', async () => {
    const { candidates } = layout();
    const f = await findGlobalAuthFile(candidates);
    expect(f.entries.size).toBe(0);
    expect(f.path).toBe(candidates.join(', '));
  });

  it("only the image's /usr/lib/ostree/auth.json: it is used", async () => {
    const { candidates, write } = layout();
    const path = write(2, 'baked');
    const f = await findGlobalAuthFile(candidates);
    expect(f.path).toBe(path);
    expect(credentialFor(f, 'r.example/app')?.username).toBe('baked');
  });

  it('/etc/ostree wins over /usr/lib/ostree, /run/ostree over both; files are not merged', async () => {
    const { candidates, write } = layout();
    write(2, 'baked');
    const etc = write(1, 'admin');
    let f = await findGlobalAuthFile(candidates);
    expect([f.path, credentialFor(f, 'r.example/app')?.username]).toEqual([etc, 'admin']);
    const run = write(0, 'runtime');
    f = await findGlobalAuthFile(candidates);
    expect([f.path, credentialFor(f, 'r.example/app')?.username]).toEqual([run, 'runtime']);
    // The winner has no entry for another registry: no fallback to a later file.
    expect(credentialFor(f, 'other.example/app')).toBeUndefined();
  });

  it('a dangling symlink or a file where a directory should be counts as missing', async () => {
    const { root, candidates, write } = layout();
    mkdirSync(join(root, 'run/ostree'), { recursive: true });
    symlinkSync(join(root, 'nowhere.json'), candidates[0] ?? '');
    writeFileSync(join(root, 'etc'), 'not a directory');
    write(2, 'baked');
    const f = await findGlobalAuthFile(candidates);
    expect(credentialFor(f, 'r.example/app')?.username).toBe('baked');
  });

  it('an existing file that is malformed or unreadable is an error, not a reason to try the next', async () => {
    const { candidates, write } = layout();
    write(2, 'baked');
    mkdirSync(join(candidates[1] ?? '', '..'), { recursive: true });
    writeFileSync(candidates[1] ?? '', '{');
    await expect(findGlobalAuthFile(candidates)).rejects.toThrow(
      `auth file ${candidates[1]}: not valid JSON`,
    );
    writeFileSync(candidates[1] ?? '', '{}');
    mkdirSync(candidates[0] ?? '', { recursive: true });
    await expect(findGlobalAuthFile(candidates)).rejects.toThrow(
      `auth file ${candidates[0]}: cannot be read (EISDIR)`,
    );
    rmSync(candidates[0] ?? '', { recursive: true });
    // A file root cannot read (tested as a user without CAP_DAC_OVERRIDE only).
    if (process.getuid?.() !== 0) {
      chmodSync(candidates[1] ?? '', 0o000);
      await expect(findGlobalAuthFile(candidates)).rejects.toThrow(/cannot be read \(EACCES\)/);
    }
  });

  it('one configured path: missing means anonymous, as before', async () => {
    const f = await findGlobalAuthFile([join(dir, 'absent.json')]);
    expect(f.entries.size).toBe(0);
  });
});

describe('credential secrecy', () => {
  const cred = credentialFor(
    auths({ 'r.example/ns': { auth: b64(`alice:${SECRET}`), identitytoken: 'TOKEN-XYZ' } }),
    'r.example/ns/app',
  );

  it('the password and token are readable but never serialized or printed', () => {
    expect(cred?.password).toBe(SECRET);
    const shown = [
      JSON.stringify(cred),
      inspect(cred),
      inspect(cred, { showHidden: true }),
      JSON.stringify({ ...cred }),
      `${String(cred)}`,
    ].join('\n');
    expect(shown).toContain('alice');
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('TOKEN-XYZ');
  });

  it('the X-Registry-Auth payload has username, password and the registry host', () => {
    expect(registryAuthConfig(cred!)).toEqual({
      username: 'alice',
      password: SECRET,
      serveraddress: 'r.example',
      identitytoken: 'TOKEN-XYZ',
    });
  });
});
