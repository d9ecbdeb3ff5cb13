// The roots of the daemon in one place: the configured roots (globs allowed), the remembered ones
// (the state file's, kept as extra GC roots), the ones that join every run while they exist (the
// staged deployment, from ostree's marker) and a caller's root for one run. Discovery, the Roots
// property and the daemon's journal all read them here, and the rule "a caller's root becomes a
// remembered root, except in a dry run" lives here too.
import type { ReconcileOptions } from './job.js';

/** What the state file offers about remembered roots (state/state-store.ts). */
export interface RememberedRoots {
  readonly rememberedRoots: readonly string[];
  /** The remembered roots that still exist (a gone one is forgotten, with a journal notice). */
  liveRoots(): Promise<string[]>;
  rememberRoot(root: string): Promise<void>;
}

/** Expands configured root patterns into existing directories (discovery/expand-roots.ts). */
export type ExpandRoots = (patterns: readonly string[]) => Promise<string[]>;

const NOTHING_REMEMBERED: RememberedRoots = {
  rememberedRoots: [],
  liveRoots: () => Promise.resolve([]),
  rememberRoot: () => Promise.reject(new Error('this root set remembers nothing')),
};

// Loaded on first use: discovery (and its glob library) is not needed before the first reconcile.
const expandLazily: ExpandRoots = async (patterns) =>
  (await import('../discovery/index.js')).expandRoots([...patterns]);

export class RootSet {
  constructor(
    /** The configured roots as written ([discovery] roots). */
    readonly configured: readonly string[],
    private readonly remembered: RememberedRoots = NOTHING_REMEMBERED,
    private readonly expand: ExpandRoots = expandLazily,
    /** Roots every run adds while they exist (the staged deployment's: staged/attach.ts). */
    private readonly current: () => Promise<string[]> = () => Promise.resolve([]),
  ) {}

  /** The Roots property: the configured roots as written (globs unexpanded), then the remembered ones not among them. */
  get listed(): string[] {
    return [
      ...this.configured,
      ...this.remembered.rememberedRoots.filter((r) => !this.configured.includes(r)),
    ];
  }

  /**
   * The roots one run discovers, each once: the configured ones expanded (directories only), the
   * remembered ones that still exist, the current ones (the staged deployment), and the caller's.
   */
  async forRun(callers: readonly string[]): Promise<string[]> {
    const [configured, remembered, current] = await Promise.all([
      this.expand(this.configured),
      this.remembered.liveRoots(),
      this.current(),
    ]);
    return [...new Set([...configured, ...remembered, ...current, ...callers])];
  }

  /**
   * A caller's root becomes a remembered root (so a later run never collects what it binds), except
   * in a dry run. Resolves true when a root was added (the Roots property moved).
   */
  async rememberCallers(options: ReconcileOptions): Promise<boolean> {
    if (options.dryRun) return false;
    const added = options.extraRoots.filter((r) => !this.remembered.rememberedRoots.includes(r));
    for (const root of added) await this.remembered.rememberRoot(root);
    return added.length > 0;
  }
}
