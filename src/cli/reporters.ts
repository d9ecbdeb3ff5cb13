// The three ways `upgrade` shows a job: plain lines (stdout not a terminal: pipes, the timer's
// journal), a progress bar with event lines above it (a terminal), and nothing until one JSON
// document at the end (--json).
import type * as CliProgressModule from 'cli-progress';
import type { MultiBar, SingleBar } from 'cli-progress';
import type { JobView } from './decode.js';
import { eventLine, jobJson, jsonDocument, plural } from './format.js';
import { finishedEvent, JobEventTracker } from './job-events.js';

export interface Reporter {
  /** The job is known (before its first view). */
  start(jobId: number): void;
  update(view: JobView): void;
  /** The job ended; `view` is its final state. */
  finish(view: JobView): void;
  /** Stop drawing (interrupted, or an error ends the command). */
  abort(): void;
}

export interface Output {
  write(text: string): unknown;
}

/** One line per event: `job N`, `pulling 2/7 REF`, `pulled REF`, `removed NAME`, …, then the result. */
export class PlainReporter implements Reporter {
  private readonly events = new JobEventTracker();
  constructor(private readonly out: Output) {}

  start(jobId: number): void {
    this.out.write(`job ${jobId}\n`);
  }

  update(view: JobView): void {
    for (const e of this.events.next(view)) this.out.write(`${eventLine(e)}\n`);
  }

  finish(view: JobView): void {
    this.update(view);
    this.out.write(`${eventLine(finishedEvent(view))}\n`);
  }

  abort(): void {}
}

/** Nothing while the job runs; the finished job as one JSON document. */
export class JsonReporter implements Reporter {
  constructor(private readonly out: Output) {}
  start(): void {}
  update(): void {}
  finish(view: JobView): void {
    this.out.write(jsonDocument(jobJson(view)));
  }
  abort(): void {}
}

/** What the bar uses of cli-progress (its module.exports: the default export of the CommonJS module). */
type CliProgress = Pick<typeof CliProgressModule, 'MultiBar' | 'Presets'>;

// {total} and {value} are the bar's own (percent); the image counts travel as payload.
const BAR_FORMAT = '{phase} [{bar}] {percentage}% | {imagesDone}/{imagesTotal} images | {current}';

/** A progress bar on a terminal; pulls done, removals and errors are printed above it as they happen. */
export class BarReporter implements Reporter {
  private readonly events = new JobEventTracker();
  private multi: MultiBar | null = null;
  private bar: SingleBar | null = null;

  constructor(
    private readonly lib: CliProgress,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  start(jobId: number): void {
    this.stream.write(`job ${jobId}\n`);
    this.multi = new this.lib.MultiBar(
      {
        stream: this.stream,
        format: BAR_FORMAT,
        hideCursor: true,
        clearOnComplete: true,
        gracefulExit: false,
        barsize: 30,
        autopadding: true,
        fps: 8,
      },
      this.lib.Presets.shades_classic,
    );
    this.bar = this.multi.create(100, 0, this.payload(null));
  }

  private payload(view: JobView | null): Record<string, string | number> {
    return {
      phase: (view?.phase ?? 'discover').padEnd(8),
      imagesDone: view?.imagesDone ?? 0,
      imagesTotal: view?.imagesTotal ?? 0,
      current: view?.currentImage ?? '',
    };
  }

  update(view: JobView): void {
    for (const e of this.events.next(view)) {
      // The bar itself shows which image is being pulled.
      if (e.kind !== 'pulling') this.multi?.log(`${eventLine(e)}\n`);
    }
    this.bar?.update(Math.round(view.progress * 100), this.payload(view));
  }

  finish(view: JobView): void {
    this.update(view);
    this.close();
    const toPull = view.planned.filter((p) => p.action === 'pull').length;
    const summary =
      view.options['dry-run'] === true
        ? `dry run: ${toPull} to pull, ${view.planned.length - toPull} to remove`
        : `${plural(view.pulled.length, 'image')} pulled, ${view.removed.length} removed`;
    this.stream.write(`${eventLine(finishedEvent(view))} (${summary})\n`);
  }

  private close(): void {
    if (!this.multi) return;
    this.multi.update(); // flushes the lines logged since the last redraw
    this.multi.stop();
    this.multi = null;
    this.bar = null;
  }

  abort(): void {
    this.close();
  }
}
