// The daemon's persistent state in memory and on disk (<stateDirectory>/state.json): remembered roots,
// the last result and its time. Loading never fails the daemon: a missing file is a first start, a
// corrupt one is reported, kept aside as state.json.corrupt, and replaced by a fresh state. Writes are
// atomic and serialized; a failed write is reported, and the in-memory state stays authoritative.
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StagedRecord } from '../staged/staged-record.js';
import { MessageId } from '../systemd/message-ids.js';
import { writeFileAtomic } from './atomic-write.js';
import {
  MAX_REMEMBERED_ROOTS,
  MAX_STATE_BYTES,
  STATE_FILE_NAME,
  emptyState,
  parseState,
  serializeState,
  type DaemonState,
} from './state-file.js';
import { errnoCode, messageOf } from '../errors.js';

/** The part of the daemon's Logger the state store writes to. */
export interface StateLogger {
  err(message: string, fields?: Record<string, string | number | undefined>): void;
  warning(message: string, fields?: Record<string, string | number | undefined>): void;
  notice(message: string, fields?: Record<string, string | number | undefined>): void;
}

/** Errors that mean "this path does not exist any more" (a gone deployment), not "cannot look". */
const GONE = new Set(['ENOENT', 'ENOTDIR']);

export class StateStore {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    readonly file: string,
    private state: DaemonState,
    private readonly log: StateLogger,
  ) {}

  /** Loads <directory>/state.json (creating the directory when missing). Never throws. */
  static async open(directory: string, log: StateLogger): Promise<StateStore> {
    const file = join(directory, STATE_FILE_NAME);
    try {
      await mkdir(directory, { recursive: true, mode: 0o755 });
    } catch (err) {
      log.err(`cannot create the state directory ${directory}: ${messageOf(err)}; state will not persist`, {
        STATE_FILE: file,
      });
    }
    return new StateStore(file, await load(file, log), log);
  }

  get rememberedRoots(): readonly string[] {
    return this.state.rememberedRoots;
  }
  get lastResult(): string {
    return this.state.lastResult;
  }
  get lastReconcileTime(): number {
    return this.state.lastReconcileTime;
  }
  get lastJobId(): number {
    return this.state.lastJobId;
  }

  /** Records the number of a job just created (job paths are never reused across processes). */
  async recordJobId(id: number): Promise<void> {
    if (id === this.state.lastJobId) return;
    this.state = { ...this.state, lastJobId: id };
    await this.save();
  }

  /** Adds a root (a real path) to the remembered ones and persists; known roots are left as they are. */
  async rememberRoot(root: string): Promise<void> {
    if (this.state.rememberedRoots.includes(root)) return;
    const roots = [...this.state.rememberedRoots, root];
    while (roots.length > MAX_REMEMBERED_ROOTS) {
      const dropped = roots.shift();
      this.log.warning(
        `more than ${MAX_REMEMBERED_ROOTS} remembered roots: forgetting the oldest, ${dropped}`,
        {
          root: dropped,
        },
      );
    }
    this.state = { ...this.state, rememberedRoots: roots };
    await this.save();
  }

  /** The staged deployment's lock and retry schedule (see staged/staged-record.ts). */
  get staged(): StagedRecord | null {
    return this.state.staged;
  }

  async setStaged(staged: StagedRecord | null): Promise<void> {
    this.state = { ...this.state, staged };
    await this.save();
  }

  async recordResult(result: string, timeUsec: number): Promise<void> {
    this.state = { ...this.state, lastResult: result, lastReconcileTime: timeUsec };
    await this.save();
  }

  /**
   * The remembered roots that still exist. A root that is gone (its deployment was removed) is
   * forgotten with a notice; one that exists but cannot be examined stays (discovery then reports it
   * unreadable, and GC is skipped).
   */
  async liveRoots(): Promise<string[]> {
    const checked = await Promise.all(
      this.state.rememberedRoots.map(async (root) => {
        try {
          await stat(root);
          return { root, gone: false };
        } catch (err) {
          return { root, gone: GONE.has(errnoCode(err) ?? '') };
        }
      }),
    );
    const gone = checked.filter((c) => c.gone).map((c) => c.root);
    if (gone.length === 0) return [...this.state.rememberedRoots];
    for (const root of gone) {
      this.log.notice(`forgetting remembered root ${root}: it no longer exists`, {
        messageId: MessageId.RootForgotten,
        root,
      });
    }
    this.state = {
      ...this.state,
      rememberedRoots: this.state.rememberedRoots.filter((r) => !gone.includes(r)),
    };
    await this.save();
    return [...this.state.rememberedRoots];
  }

  /** Resolves when every write asked for so far has been attempted. */
  flush(): Promise<void> {
    return this.writing;
  }

  /** Queues one write of the latest state; writes asked for while one runs collapse into one. */
  private save(): Promise<void> {
    if (this.dirty) return this.writing;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      this.dirty = false;
      try {
        await writeFileAtomic(this.file, serializeState(this.state));
      } catch (err) {
        this.log.err(`cannot write the state file ${this.file}: ${messageOf(err)}`, {
          STATE_FILE: this.file,
        });
      }
    });
    return this.writing;
  }
}

async function load(file: string, log: StateLogger): Promise<DaemonState> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_STATE_BYTES) throw new Error(`larger than ${MAX_STATE_BYTES} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return emptyState();
    log.warning(`cannot read the state file ${file} (${messageOf(err)}): starting with a fresh state`, {
      STATE_FILE: file,
    });
    return emptyState();
  }
  try {
    return parseState(text);
  } catch (err) {
    const aside = `${file}.corrupt`;
    const kept = await rename(file, aside).then(
      () => `; the damaged file is kept as ${aside}`,
      () => '',
    );
    log.warning(
      `the state file ${file} is corrupt (${messageOf(err)}): starting with a fresh state — remembered roots are lost${kept}`,
      { STATE_FILE: file },
    );
    return emptyState();
  }
}
