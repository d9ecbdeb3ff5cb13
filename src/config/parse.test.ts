// parseConfig: defaults, every key, every rule, the layout errors, and the line numbers errors carry.
import { describe, expect, test } from 'vitest';
import { ConfigError } from './config-error.js';
import { parseConfig } from './parse.js';
import { CONFIG_KEYS, defaultConfig, type Config } from './schema.js';

const FILE = '/etc/bound-imaged/config.ini';

/** Parse and return the ConfigError it must throw. */
function parseError(text: string): ConfigError {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(text)}`);
}

function withFile(config: Config, file: string | null = FILE): Config {
  return { ...config, file };
}

describe('defaults', () => {
  test('defaultConfig() has the documented values and no file', () => {
    expect(defaultConfig()).toEqual({
      file: null,
      storage: { path: '/usr/lib/bootc/storage', podmanSocket: '/run/bound-imaged/podman.sock' },
      discovery: { roots: ['/', '/ostree/deploy/*/deploy/*', '/sysroot/state/deploy/*'] },
      pull: {
        concurrency: 'auto',
        maxConcurrency: 16,
        retries: 3,
        retryDelayMs: 1000,
        timeoutMs: 600_000,
        authFiles: ['/run/ostree/auth.json', '/etc/ostree/auth.json', '/usr/lib/ostree/auth.json'],
      },
      gc: { enabled: true },
      daemon: { stateDirectory: '/var/lib/bound-imaged', keepJobs: 16, idleExitMs: 60_000 },
      staged: {
        lockFinalization: true,
        ostreeRunDir: '/run/ostree',
        sysroot: '/',
        retryDelayMs: 30_000,
        retryMaxDelayMs: 3_600_000,
      },
    });
  });

  test('each call returns a fresh object', () => {
    const a = defaultConfig();
    a.discovery.roots.push('/x');
    a.pull.concurrency = 9;
    expect(defaultConfig().discovery.roots).toEqual([
      '/',
      '/ostree/deploy/*/deploy/*',
      '/sysroot/state/deploy/*',
    ]);
    expect(defaultConfig().pull.concurrency).toBe('auto');
  });

  test.each(['', '\n\n', '; only a comment\n# and another\n', '[storage]\n[pull]\n'])(
    'a file with no keys (%j) gives the defaults',
    (text) => {
      expect(parseConfig(text, FILE)).toEqual(withFile(defaultConfig()));
    },
  );

  test('CONFIG_KEYS lists every key once, with defaults that parse to defaultConfig()', () => {
    const names = CONFIG_KEYS.map((k) => `${k.section}.${k.key}`);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'storage.path',
      'storage.podman-socket',
      'discovery.roots',
      'pull.concurrency',
      'pull.max-concurrency',
      'pull.retries',
      'pull.retry-delay',
      'pull.timeout',
      'pull.auth-file',
      'gc.enabled',
      'daemon.state-directory',
      'daemon.keep-jobs',
      'daemon.idle-exit',
      'staged.lock-finalization',
      'staged.ostree-run-dir',
      'staged.sysroot',
      'staged.retry-delay',
      'staged.retry-max-delay',
    ]);
    const text = CONFIG_KEYS.map((k) => `[${k.section}]\n${k.key} = ${k.default}\n`).join('');
    expect(parseConfig(text, FILE)).toEqual(withFile(defaultConfig()));
    for (const k of CONFIG_KEYS) expect(k.description.length).toBeGreaterThan(10);
  });
});

describe('every key is read', () => {
  test('a file setting all keys gives exactly those values', () => {
    const text = [
      '[storage]',
      'path = /srv/store',
      'podman-socket = /run/x/podman.sock',
      '[discovery]',
      'roots = /a   /b/*/c\t/a /sysroot',
      '[pull]',
      'concurrency = 32',
      'max-concurrency = 1',
      'retries = 0',
      'retry-delay = 0.25',
      'timeout = 86400',
      'auth-file = /etc/containers/auth.json',
      '[gc]',
      'enabled = no',
      '[daemon]',
      'state-directory = /var/lib/other',
      'keep-jobs = 1000',
      'idle-exit = 0',
      '[staged]',
      'lock-finalization = off',
      'ostree-run-dir = /tmp/run-ostree',
      'sysroot = /sysroot',
      'retry-delay = 1',
      'retry-max-delay = 86400',
    ].join('\n');
    expect(parseConfig(text, '/tmp/c.ini')).toEqual({
      file: '/tmp/c.ini',
      storage: { path: '/srv/store', podmanSocket: '/run/x/podman.sock' },
      discovery: { roots: ['/a', '/b/*/c', '/sysroot'] },
      pull: {
        concurrency: 32,
        maxConcurrency: 1,
        retries: 0,
        retryDelayMs: 250,
        timeoutMs: 86_400_000,
        authFiles: ['/etc/containers/auth.json'],
      },
      gc: { enabled: false },
      daemon: { stateDirectory: '/var/lib/other', keepJobs: 1000, idleExitMs: 0 },
      staged: {
        lockFinalization: false,
        ostreeRunDir: '/tmp/run-ostree',
        sysroot: '/sysroot',
        retryDelayMs: 1000,
        retryMaxDelayMs: 86_400_000,
      },
    });
  });

  test('an absent key keeps its default while its neighbours change', () => {
    const config = parseConfig('[pull]\nretries = 7\n', FILE);
    expect(config.pull).toEqual({ ...defaultConfig().pull, retries: 7 });
    expect(config.storage).toEqual(defaultConfig().storage);
  });

  test.each([
    ['concurrency', '1', 1],
    ['concurrency', '32', 32],
    ['concurrency', '007', 7],
    ['concurrency', 'auto', 'auto'],
    ['concurrency', 'Auto', 'auto'],
    ['max-concurrency', '1', 1],
    ['max-concurrency', '32', 32],
    ['retries', '0', 0],
    ['retries', '10', 10],
    ['timeout', '1', 1000],
    ['timeout', '86400', 86_400_000],
  ])('[pull] %s = %s is accepted (boundary)', (key, value, expected) => {
    const pull = parseConfig(`[pull]\n${key} = ${value}\n`, FILE).pull;
    const read = {
      timeout: pull.timeoutMs,
      retries: pull.retries,
      concurrency: pull.concurrency,
      'max-concurrency': pull.maxConcurrency,
    }[key];
    expect(read).toBe(expected);
  });

  test.each([
    ['0', 0],
    ['60', 60_000],
    ['0.5', 500],
    ['.25', 250],
    ['1.0005', 1001],
    ['59.999', 59_999],
  ])('retry-delay = %s is %i ms', (value, ms) => {
    expect(parseConfig(`[pull]\nretry-delay = ${value}\n`, FILE).pull.retryDelayMs).toBe(ms);
  });

  test.each([
    ['1', 1],
    ['1000', 1000],
  ])('keep-jobs = %s is accepted (boundary)', (value, expected) => {
    expect(parseConfig(`[daemon]\nkeep-jobs = ${value}\n`, FILE).daemon.keepJobs).toBe(expected);
  });

  test.each([
    ['true', true],
    ['yes', true],
    ['on', true],
    ['1', true],
    ['TRUE', true],
    ['Yes', true],
    ['ON', true],
    ['"true"', true],
    ['false', false],
    ['no', false],
    ['off', false],
    ['0', false],
    ['False', false],
    ['NO', false],
    ['Off', false],
  ])('[gc] enabled = %s is %s', (value, expected) => {
    expect(parseConfig(`[gc]\nenabled = ${value}\n`, FILE).gc.enabled).toBe(expected);
  });
});

/** Bad values for every key; the test below fails if a key has none. */
const BAD_VALUES: Record<string, string[]> = {
  'storage.path': ['usr/lib/bootc/storage', './store', '', 'true', 'null', '" /x"'],
  'storage.podman-socket': ['podman.sock', '~/podman.sock', ''],
  'discovery.roots': ['', 'ostree/deploy/*', '/ relative', '* /'],
  'pull.concurrency': [
    '0',
    '33',
    '-1',
    '2.5',
    'three',
    '0x3',
    '1e1',
    '+3',
    '3 4',
    'true',
    '',
    'autox',
    'auto 4',
  ],
  'pull.max-concurrency': ['0', '33', 'auto', '1.5', ''],
  'pull.retries': ['-1', '11', '1.5', 'x', ''],
  'pull.retry-delay': ['-1', '60.5', '61', 'abc', '1,5', '1.', '1e0', ''],
  'pull.timeout': ['0', '86401', '1.5', '10s', '-5', ''],
  'pull.auth-file': ['auth.json', 'etc/ostree/auth.json', '', '/run/ostree/auth.json etc/ostree/auth.json'],
  'gc.enabled': ['maybe', '2', 'y', 'enable', '', 'null'],
  'daemon.state-directory': ['var/lib/bound-imaged', ''],
  'daemon.keep-jobs': ['0', '1001', 'x', '-1', ''],
  'daemon.idle-exit': ['-1', '86401', '1.5', '60s', 'never', ''],
  'staged.lock-finalization': ['maybe', '2', ''],
  'staged.ostree-run-dir': ['run/ostree', ''],
  'staged.sysroot': ['sysroot', ''],
  'staged.retry-delay': ['0', '86401', '1.5', ''],
  'staged.retry-max-delay': ['0', '86401', 'x', ''],
};

describe('bad values name the file, the key and the line', () => {
  test('every key has bad-value cases', () => {
    expect(Object.keys(BAD_VALUES).sort()).toEqual(CONFIG_KEYS.map((k) => `${k.section}.${k.key}`).sort());
  });

  const cases = CONFIG_KEYS.flatMap((k) =>
    (BAD_VALUES[`${k.section}.${k.key}`] ?? []).map((value) => ({ ...k, value })),
  );
  test.each(cases)('[$section] $key = $value', ({ section, key, value }) => {
    // The key sits on line 7, after a comment, a blank line and another valid section.
    const before = section === 'gc' ? '[daemon]\nkeep-jobs = 4' : '[gc]\nenabled = yes';
    const text = `# header\n\n${before}\n; comment\n[${section}]\n${key} = ${value}\n`;
    const error = parseError(text);
    expect(error.file).toBe(FILE);
    expect(error.key).toBe(`${section}.${key}`);
    expect(error.line).toBe(7);
    expect(error.message).toMatch(new RegExp(`^${FILE}:7: ${section}\\.${key}: expected `));
  });

  test('the error quotes the bad value', () => {
    expect(parseError('[pull]\nconcurrency = lots\n').message).toBe(
      `${FILE}:2: pull.concurrency: expected auto or an integer from 1 to 32, got "lots"`,
    );
    expect(parseError('[discovery]\nroots = / deploy/*\n').message).toContain('got "deploy/*"');
  });

  test('the first bad value in file order is the one reported', () => {
    const error = parseError('[pull]\nretries = 99\nconcurrency = 0\n');
    expect([error.key, error.line]).toEqual(['pull.retries', 2]);
  });
});

describe('layout errors', () => {
  test('unknown section, with its line', () => {
    const error = parseError('[pull]\nretries = 1\n\n[network]\nproxy = x\n');
    expect(error.line).toBe(4);
    expect(error.key).toBeUndefined();
    expect(error.message).toMatch(/^\/etc\/bound-imaged\/config\.ini:4: unknown section \[network\]/);
    expect(error.message).toContain('[storage], [discovery], [pull], [gc], [daemon], [staged]');
  });

  test.each(['[Pull]', '[pull.extra]', '[__proto__]', '[]'])('%s is an unknown section', (header) => {
    expect(parseError(`${header}\n`).message).toContain('unknown section');
  });

  test('unknown key, with section.key and line', () => {
    const error = parseError('[storage]\npath = /s\npth = /x\n');
    expect([error.key, error.line]).toEqual(['storage.pth', 3]);
    expect(error.message).toContain('unknown key "pth" in [storage] (known: path, podman-socket)');
  });

  test('a key of another section is unknown here', () => {
    expect(parseError('[pull]\npath = /x\n').key).toBe('pull.path');
  });

  test('key names are case-sensitive', () => {
    expect(parseError('[pull]\nConcurrency = 3\n').key).toBe('pull.Concurrency');
  });

  test('a key before any section header', () => {
    const error = parseError('; top\nconcurrency = 3\n[pull]\n');
    expect(error.line).toBe(2);
    expect(error.message).toContain('before any section header');
  });

  test('duplicate key, also across a repeated section header', () => {
    const error = parseError('[pull]\nretries = 1\n[gc]\nenabled = on\n[pull]\nretries = 2\n');
    expect([error.key, error.line]).toEqual(['pull.retries', 6]);
    expect(error.message).toContain('duplicate key, already set at line 2');
  });

  test('a repeated section header without repeated keys is fine', () => {
    const config = parseConfig('[pull]\nretries = 1\n[gc]\n[pull]\nconcurrency = 2\n', FILE);
    expect([config.pull.retries, config.pull.concurrency]).toEqual([1, 2]);
  });

  test.each(['  [pull]', '[pull] ; the pull section', '[pull]x'])('malformed header %j', (header) => {
    const error = parseError(`# x\n${header}\nretries = 1\n`);
    expect(error.line).toBe(2);
    expect(error.message).toContain('malformed section header');
  });

  test('a key without "="', () => {
    const error = parseError('[gc]\nenabled\n');
    expect([error.key, error.line]).toEqual(['gc.enabled', 2]);
    expect(error.message).toContain('"=" is missing');
  });

  test('a line with no key', () => {
    const error = parseError('[pull]\n= 3\n');
    expect(error.line).toBe(2);
    expect(error.message).toContain('expected "[section]" or "key = value"');
    expect(parseError('[pull]\n  = 3\n').message).toContain('unknown key ""');
  });
});

describe('values ini does not give as text', () => {
  test('key[] is refused with the line of the key', () => {
    const error = parseError('[discovery]\n\nroots[] = /a\n');
    expect([error.key, error.line]).toEqual(['discovery.roots', 3]);
    expect(error.message).toContain('"roots[]" is ini array syntax');
  });

  test('a repeated key[] is refused as a duplicate that names the array syntax', () => {
    const error = parseError('[discovery]\nroots[] = /a\nroots[] = /b\n');
    expect([error.key, error.line]).toEqual(['discovery.roots', 3]);
    expect(error.message).toContain('"key[]" lists are not supported');
  });

  test('key then key[] is a duplicate', () => {
    expect(parseError('[pull]\nretries = 1\nretries[] = 2\n').line).toBe(3);
  });

  test('true/false/null, which ini turns into JSON values, are read back as their text', () => {
    expect(parseConfig('[gc]\nenabled = false\n', FILE).gc.enabled).toBe(false);
    expect(parseError('[pull]\nretries = true\n').message).toContain('got "true"');
    expect(parseError('[storage]\npath = null\n').message).toContain('got "null"');
  });
});

describe('syntax', () => {
  test('comments: whole lines with ; or #, indented, and after a value', () => {
    const text = [
      '; leading comment',
      '# another',
      '   ; indented',
      '\t# tab-indented',
      '[pull]',
      'concurrency = 5 ; five',
      'retries = 2# two',
      '[storage]',
      'path = /srv/a\\;b  # an escaped ";" stays',
      '[discovery]',
      'roots = /a /b ; /c is not a root',
    ].join('\n');
    const config = parseConfig(text, FILE);
    expect([config.pull.concurrency, config.pull.retries]).toEqual([5, 2]);
    expect(config.storage.path).toBe('/srv/a;b');
    expect(config.discovery.roots).toEqual(['/a', '/b']);
  });

  test.each([
    'concurrency=5',
    'concurrency =5',
    'concurrency= 5',
    'concurrency \t=\t 5  ',
    '  concurrency = 5',
  ])('whitespace around "=": %j', (line) => {
    expect(parseConfig(`[pull]\n${line}\n`, FILE).pull.concurrency).toBe(5);
  });

  test('quoted values keep their inner text', () => {
    expect(parseConfig('[storage]\npath = "/srv/my store"\n', FILE).storage.path).toBe('/srv/my store');
    expect(parseConfig("[storage]\npath = '/srv/a;b'\n", FILE).storage.path).toBe('/srv/a;b');
  });

  test('CRLF line ends: values clean, line numbers right', () => {
    const config = parseConfig('[pull]\r\nconcurrency = 4\r\n[gc]\r\nenabled = off\r\n', FILE);
    expect([config.pull.concurrency, config.gc.enabled]).toEqual([4, false]);
    const error = parseError('[pull]\r\n\r\n; c\r\nretries = 11\r\n');
    expect([error.key, error.line]).toEqual(['pull.retries', 4]);
  });

  test('old Mac CR line ends count as line breaks too', () => {
    expect(parseError('[pull]\r\rretries = 11\r').line).toBe(3);
  });

  test('a UTF-8 byte order mark is ignored and does not shift lines', () => {
    const config = parseConfig('\uFEFF[pull]\nconcurrency = 6\n', FILE);
    expect(config.pull.concurrency).toBe(6);
    const error = parseError('\uFEFF[pull]\nconcurrency = 0\n');
    expect([error.key, error.line]).toEqual(['pull.concurrency', 2]);
  });

  test('a file without a final newline', () => {
    expect(parseConfig('[daemon]\nkeep-jobs = 2', FILE).daemon.keepJobs).toBe(2);
  });

  test('duplicate roots are dropped, order kept', () => {
    expect(parseConfig('[discovery]\nroots = /b /a /b\n', FILE).discovery.roots).toEqual(['/b', '/a']);
  });
});
