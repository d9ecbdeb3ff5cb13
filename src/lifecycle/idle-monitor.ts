// When the daemon may exit for lack of work, as rpm-ostreed does: after `idleMs` without a method call
// being answered, without a job running or waiting, and without pending work due within that time.
// Every method call counts as activity (it restarts the wait); one being answered (a polkit check, a
// ListBoundImages computation) keeps the daemon up until its reply is sent. The monitor only decides:
// the daemon does the exit (hand pending work to systemd, release the name, exit 0).

export interface IdleMonitorOptions {
  /** 0: never exit. */
  idleMs: number;
  /** True while something other than a method call keeps the daemon up (a job, work due soon). */
  busy: () => boolean;
  /** Called once the daemon has been idle for `idleMs`; the monitor then stops watching. */
  onIdle: () => void;
}

export class IdleMonitor {
  private timer: NodeJS.Timeout | null = null;
  private calls = 0;
  private stopped = false;
  private since = Date.now();

  constructor(private readonly opts: IdleMonitorOptions) {}

  /** Method calls being answered now. */
  get pendingCalls(): number {
    return this.calls;
  }

  /** Starts the wait (call once the service is up). */
  start(): void {
    this.check();
  }

  /** Something happened: the idle time starts over. */
  touch(): void {
    this.since = Date.now();
    this.check();
  }

  /** A method call is being answered; call the returned function when its reply is sent. */
  callStarted(): () => void {
    this.calls++;
    this.touch();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.calls--;
      this.touch();
    };
  }

  /** Re-evaluates after a change of `busy()` (a job ended, work was scheduled). */
  check(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.opts.idleMs <= 0 || this.calls > 0 || this.opts.busy()) return;
    const wait = Math.max(0, this.since + this.opts.idleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped || this.calls > 0 || this.opts.busy()) return;
      if (Date.now() - this.since < this.opts.idleMs) return this.check();
      this.stopped = true;
      this.opts.onIdle();
    }, wait);
    this.timer.unref();
  }

  /** Watches again after an idle exit was abandoned (e.g. pending work could not be handed over). */
  resume(): void {
    this.stopped = false;
    this.touch();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
