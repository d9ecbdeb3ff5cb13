// Reads a pull's progress stream (newline-delimited JSON) to its very end. The Docker-compatible API
// answers 200 before pulling and reports a failure as an `{"error": …}` line inside the stream, so the
// outcome is known only after the last line; a stream cut off before its end throws.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parseProgressLine } from './api-schema.js';
import type { PullProgressEvent } from './types.js';

export interface ProgressOutcome {
  /** The failure text of the first error line, when there was one. */
  error?: string;
  lines: number;
}

export async function readProgress(
  stream: Readable | AsyncIterable<Buffer | string>,
  onProgress?: (e: PullProgressEvent) => void,
): Promise<ProgressOutcome> {
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  let error: string | undefined;
  let lines = 0;
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    lines++;
    const parsed = parseProgressLine(line);
    if (parsed.error !== undefined) {
      error ??= parsed.error;
      return;
    }
    onProgress?.(parsed.event);
  };
  for await (const chunk of stream) {
    buffered += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      handle(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  handle(buffered + decoder.end());
  return error === undefined ? { lines } : { error, lines };
}
