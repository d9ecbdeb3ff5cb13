// Batches property-change notifications: urgent changes go out at once (with anything pending),
// frequent ones (a pull's byte progress) at most once per interval. One flush sends one
// PropertiesChanged carrying every property that moved since the last one.

export class ChangeCoalescer<Name extends string> {
  private readonly pending = new Set<Name>();
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = -Infinity;

  constructor(
    private readonly flushFn: (names: Name[]) => void,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records changes; `urgent` flushes now, otherwise the flush waits out the interval since the last one. */
  mark(names: readonly Name[], urgent: boolean): void {
    for (const n of names) this.pending.add(n);
    if (this.pending.size === 0) return;
    const wait = this.lastFlush + this.intervalMs - this.now();
    if (urgent || wait <= 0) {
      this.flush();
    } else {
      this.timer ??= setTimeout(() => this.flush(), wait);
    }
  }

  /** Sends what is pending now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const names = [...this.pending];
    this.pending.clear();
    this.lastFlush = this.now();
    this.flushFn(names);
  }

  /** Drops what is pending and stops the timer. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
