// The configuration schema: the Config shape, and one table naming every key with its default, its
// description and its value rule. That table is the single source of truth: defaults, validation,
// the exported CONFIG_KEYS and the checks on docs/configuration.md and config/config.ini all derive from it.
import {
  absolutePath,
  absolutePathList,
  absolutePaths,
  autoOrInteger,
  boolean,
  decimal,
  integer,
  type Checked,
  type Rule,
} from './rules.js';

export interface Config {
  /** The file read, null when defaults only. */
  file: string | null;
  storage: { path: string; podmanSocket: string };
  discovery: { roots: string[] };
  pull: {
    /** Pulls in flight: fixed, or `auto` (grown while throughput grows, up to maxConcurrency). */
    concurrency: number | 'auto';
    maxConcurrency: number;
    retries: number;
    retryDelayMs: number;
    timeoutMs: number;
    authFiles: string[];
  };
  gc: { enabled: boolean };
  daemon: { stateDirectory: string; keepJobs: number; idleExitMs: number };
  staged: {
    lockFinalization: boolean;
    ostreeRunDir: string;
    sysroot: string;
    retryDelayMs: number;
    retryMaxDelayMs: number;
  };
}

export interface KeySpec {
  readonly section: string;
  readonly key: string;
  /** The default as it would be written in the file. */
  readonly default: string;
  readonly description: string;
  /** What a valid value is, in words. */
  readonly expects: string;
  /** Check `text` and, when valid, store it in `config`; returns the reason when invalid. */
  apply(config: Config, text: string): string | undefined;
}

function spec<T>(fields: {
  section: string;
  key: string;
  default: string;
  description: string;
  rule: Rule<T>;
  set: (config: Config, value: T) => void;
}): KeySpec {
  const { rule, set, ...rest } = fields;
  return {
    ...rest,
    expects: rule.expects,
    apply(config, text) {
      const checked: Checked<T> = rule.check(text);
      if (!checked.ok) return checked.reason;
      set(config, checked.value);
      return undefined;
    },
  };
}

const SECONDS_TO_MS = 1000;

/**
 * Where ostree-ext (bootc's `ostree_ext::globals::get_global_authfile()`, as root) looks for the
 * global pull secret, in its order: runtime, then persistent, then the one baked into the image. The
 * default of `[pull] auth-file`, searched by store/auth.ts findGlobalAuthFile().
 */
export const OSTREE_AUTH_FILES: readonly string[] = [
  '/run/ostree/auth.json',
  '/etc/ostree/auth.json',
  '/usr/lib/ostree/auth.json',
];

export const KEY_SPECS: readonly KeySpec[] = [
  spec({
    section: 'storage',
    key: 'path',
    default: '/usr/lib/bootc/storage',
    description:
      'The bootc-owned image store that receives the bound images (the graphroot of the Podman service).',
    rule: absolutePath,
    set: (c, v) => (c.storage.path = v),
  }),
  spec({
    section: 'storage',
    key: 'podman-socket',
    default: '/run/bound-imaged/podman.sock',
    description: 'Unix socket of the Podman API service in front of the store.',
    rule: absolutePath,
    set: (c, v) => (c.storage.podmanSocket = v),
  }),
  spec({
    section: 'discovery',
    key: 'roots',
    default: '/ /ostree/deploy/*/deploy/* /sysroot/state/deploy/*',
    description:
      'Deployment roots whose usr/lib/bootc/bound-images.d is read and whose origin file names a host image GC keeps; only directories count.',
    rule: absolutePathList,
    set: (c, v) => (c.discovery.roots = v),
  }),
  spec({
    section: 'pull',
    key: 'concurrency',
    default: 'auto',
    description:
      "Pulls in flight at the same time: auto starts at 4 and doubles while the pulls' throughput grows (up to max-concurrency); a number fixes it.",
    rule: autoOrInteger(1, 32),
    set: (c, v) => (c.pull.concurrency = v),
  }),
  spec({
    section: 'pull',
    key: 'max-concurrency',
    default: '16',
    description: 'The most pulls in flight concurrency = auto may reach.',
    rule: integer(1, 32),
    set: (c, v) => (c.pull.maxConcurrency = v),
  }),
  spec({
    section: 'pull',
    key: 'retries',
    default: '3',
    description: 'Retries of a pull after a transient failure (0: one attempt only).',
    rule: integer(0, 10),
    set: (c, v) => (c.pull.retries = v),
  }),
  spec({
    section: 'pull',
    key: 'retry-delay',
    default: '1',
    description: 'Seconds before the first retry; doubles with each retry, with random jitter.',
    rule: decimal(0, 60),
    set: (c, v) => (c.pull.retryDelayMs = Math.round(v * SECONDS_TO_MS)),
  }),
  spec({
    section: 'pull',
    key: 'timeout',
    default: '600',
    description: 'Seconds one pull attempt may take before it is aborted.',
    rule: integer(1, 86400),
    set: (c, v) => (c.pull.timeoutMs = v * SECONDS_TO_MS),
  }),
  spec({
    section: 'pull',
    key: 'auth-file',
    default: OSTREE_AUTH_FILES.join(' '),
    description:
      'Registry credentials (containers-auth.json) for images whose Quadlet file sets no AuthFile=: the first of these files that exists (none: anonymous).',
    rule: absolutePaths,
    set: (c, v) => (c.pull.authFiles = v),
  }),
  spec({
    section: 'gc',
    key: 'enabled',
    default: 'true',
    description: 'Remove from the store the images no root binds any more.',
    rule: boolean,
    set: (c, v) => (c.gc.enabled = v),
  }),
  spec({
    section: 'daemon',
    key: 'state-directory',
    default: '/var/lib/bound-imaged',
    description: 'Directory of the state file (remembered roots, last result and time).',
    rule: absolutePath,
    set: (c, v) => (c.daemon.stateDirectory = v),
  }),
  spec({
    section: 'daemon',
    key: 'keep-jobs',
    default: '16',
    description: 'Finished Job objects kept readable on D-Bus.',
    rule: integer(1, 1000),
    set: (c, v) => (c.daemon.keepJobs = v),
  }),
  spec({
    section: 'daemon',
    key: 'idle-exit',
    default: '60',
    description:
      'Seconds without a job, a method call or work due before the daemon exits (0: never); D-Bus activation or the timer starts it again.',
    rule: integer(0, 86400),
    set: (c, v) => (c.daemon.idleExitMs = v * SECONDS_TO_MS),
  }),
  spec({
    section: 'staged',
    key: 'lock-finalization',
    default: 'true',
    description:
      "Hold ostree's finalization lock while the staged deployment binds an image missing from the store.",
    rule: boolean,
    set: (c, v) => (c.staged.lockFinalization = v),
  }),
  spec({
    section: 'staged',
    key: 'ostree-run-dir',
    default: '/run/ostree',
    description: "ostree's run directory: the staged-deployment marker and the finalization lock file.",
    rule: absolutePath,
    set: (c, v) => (c.staged.ostreeRunDir = v),
  }),
  spec({
    section: 'staged',
    key: 'sysroot',
    default: '/',
    description: 'The physical root holding ostree/deploy; the staged deployment root lies below it.',
    rule: absolutePath,
    set: (c, v) => (c.staged.sysroot = v),
  }),
  spec({
    section: 'staged',
    key: 'retry-delay',
    default: '30',
    description: "Seconds before the first retry of a staged deployment's missing images; doubles each time.",
    rule: integer(1, 86400),
    set: (c, v) => (c.staged.retryDelayMs = v * SECONDS_TO_MS),
  }),
  spec({
    section: 'staged',
    key: 'retry-max-delay',
    default: '3600',
    description: 'The longest wait between two such retries, in seconds.',
    rule: integer(1, 86400),
    set: (c, v) => (c.staged.retryMaxDelayMs = v * SECONDS_TO_MS),
  }),
];

export const CONFIG_KEYS: ReadonlyArray<{
  section: string;
  key: string;
  default: string;
  description: string;
}> = KEY_SPECS.map(({ section, key, default: value, description }) => ({
  section,
  key,
  default: value,
  description,
}));

/** Section names in the order they first appear in the table. */
export const SECTIONS: readonly string[] = [...new Set(KEY_SPECS.map((s) => s.section))];

export function findKeySpec(section: string, key: string): KeySpec | undefined {
  return KEY_SPECS.find((s) => s.section === section && s.key === key);
}

export function defaultConfig(): Config {
  // Placeholders only: every field is then set from its key's default, through the same rule a file
  // value goes through.
  const config: Config = {
    file: null,
    storage: { path: '', podmanSocket: '' },
    discovery: { roots: [] },
    pull: { concurrency: 0, maxConcurrency: 0, retries: 0, retryDelayMs: 0, timeoutMs: 0, authFiles: [] },
    gc: { enabled: false },
    daemon: { stateDirectory: '', keepJobs: 0, idleExitMs: 0 },
    staged: { lockFinalization: false, ostreeRunDir: '', sysroot: '', retryDelayMs: 0, retryMaxDelayMs: 0 },
  };
  for (const s of KEY_SPECS) {
    const reason = s.apply(config, s.default);
    if (reason !== undefined) throw new Error(`built-in default of ${s.section}.${s.key}: ${reason}`);
  }
  return config;
}
