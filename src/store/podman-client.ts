// The Podman API client of the bound store: HTTP on its unix socket (api-socket.ts), one short method per
// endpoint, answers validated (api-schema.ts), no policy (what to pull or remove is reconcile's job).
// Podman 4.3 behaviour this relies on (pinned in test/integration/store-*.test.ts):
//  - POST /images/create answers 200 first and reports failure as an error line in the stream;
//  - GET /images/json lists names pulled by digest (`repo@sha256:…`) among RepoTags;
//  - DELETE /images/<name> removes only that name while the image has others, but the whole image
//    when it is the last one; DELETE /images/<id> needs force=true when the image has several names;
//  - untagging an image's last tag (libpod) leaves it dangling *and* drops its RepoDigests.
import type { Readable } from 'node:stream';
import { ApiSocket, type ApiError, type DialOptions } from './api-socket.js';
import {
  IMAGE_ID,
  parseImageInspect,
  parseImageList,
  parseInfo,
  parseOverlayRoot,
  parseOwnImage,
} from './api-schema.js';
import { registryAuthConfig, splitReference } from './auth.js';
import { classifyPullFailure, connectionError, PullError, StoreError } from './errors.js';
import { readProgress } from './progress-stream.js';
import { isRecord } from '../errors.js';
import type { PullOptions, StoredImage, StoreInfo } from './types.js';

export type { PullOptions, PullProgressEvent, StoredImage, StoreInfo } from './types.js';

export interface StoreClientOptions {
  socketPath: string;
  /** Limit for every call but pull (default 30 s); pulls end by their signal. */
  timeoutMs?: number;
}

/** Characters a reference, name or id may have before it goes into a request path. */
const SAFE_REF = /^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/;

type ModemError = ApiError;

function apiMessage(err: ModemError): string {
  const json = err.json;
  if (isRecord(json)) {
    const { message, cause } = json;
    if (typeof message === 'string') return message;
    if (typeof cause === 'string') return cause;
  }
  // ApiSocket's wording (dockerode's modem's) around the API's message: "(HTTP code 500) unexpected - <message> "
  return err.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as ModemError).code === 'ABORT_ERR');
}

export class StoreClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly modem: ApiSocket;

  constructor(opts: StoreClientOptions) {
    this.socketPath = opts.socketPath;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.modem = new ApiSocket(opts.socketPath);
  }

  /** One non-streaming call; maps connection failures, timeouts and HTTP errors to StoreError. */
  private async call(what: string, dial: DialOptions): Promise<unknown> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      return await this.modem.dial({ ...dial, abortSignal: signal });
    } catch (e) {
      throw this.failure(what, e, signal);
    }
  }

  private failure(what: string, e: unknown, timeout?: AbortSignal): StoreError {
    if (timeout?.aborted && isAbort(e)) {
      const problem = `no answer from Podman API socket ${this.socketPath} within ${this.timeoutMs} ms`;
      return new StoreError(`${what}: ${problem}`, {
        socketPath: this.socketPath,
        code: 'ETIMEDOUT',
        socketFailure: problem,
      });
    }
    const err = e as ModemError;
    if (typeof err.statusCode === 'number') {
      return new StoreError(`${what}: Podman answered ${err.statusCode}: ${apiMessage(err)}`, {
        socketPath: this.socketPath,
        status: err.statusCode,
      });
    }
    return connectionError(this.socketPath, what, e);
  }

  private static checkRef(what: string, ref: string): void {
    if (!SAFE_REF.test(ref))
      throw new StoreError(`${what}: not a valid image reference: ${JSON.stringify(ref)}`);
  }

  /** The libpod API version from GET /_ping (cheap); undefined when the service reports none. */
  async apiVersion(): Promise<string | undefined> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      return await this.modem.apiVersion(signal);
    } catch (e) {
      throw this.failure('GET /_ping', e, signal);
    }
  }

  /** The store the service serves and its version (GET /info). */
  async info(): Promise<StoreInfo> {
    const json = await this.call('GET /info', { path: '/info', method: 'GET', statusCodes: { 200: true } });
    return parseInfo(json);
  }

  /**
   * Whether the service keeps image `id` in its own store, not in an additional read-only image
   * store (one filtered libpod listing, a few ms): an overlay path alone cannot tell the two apart.
   */
  async ownsImage(id: string): Promise<boolean> {
    const what = 'GET /libpod/images/json';
    StoreClient.checkRef(what, id);
    const json = await this.call(what, {
      // libpod routes need a version; 4.0.0 is the oldest whose listing reports ReadOnly.
      path: '/v4.0.0/libpod/images/json?',
      method: 'GET',
      options: { filters: { id: [id.replace(/^sha256:/, '')] } },
      statusCodes: { 200: true },
    });
    return parseOwnImage(json, id);
  }

  /** Every image of the store with its names and repo digests, in one call (GET /images/json). */
  async listImages(): Promise<StoredImage[]> {
    const json = await this.call('GET /images/json', {
      path: '/images/json',
      method: 'GET',
      statusCodes: { 200: true },
    });
    return parseImageList(json);
  }

  /** One GET /images/{ref}/json, unparsed; null when no image has that name. */
  private async inspectJson(ref: string): Promise<unknown> {
    const what = `GET /images/${ref}/json`;
    StoreClient.checkRef(what, ref);
    try {
      return await this.call(what, {
        path: `/images/${ref}/json`,
        method: 'GET',
        statusCodes: { 200: true },
      });
    } catch (e) {
      if (e instanceof StoreError && e.status === 404) return null;
      throw e;
    }
  }

  /** One GET /images/{ref}/json: the image as inspect reports it (no digest names), or null. */
  private async inspectOnly(ref: string): Promise<StoredImage | null> {
    const json = await this.inspectJson(ref);
    return json === null ? null : parseImageInspect(json, ref);
  }

  /**
   * The store directory the service keeps image `id` in, read from its overlay layer paths (one
   * cheap call, where GET /info costs ~250 ms): null when the service has no such image or does not
   * use the overlay driver.
   */
  async overlayRootOf(id: string): Promise<string | null> {
    const json = await this.inspectJson(id);
    return json === null ? null : parseOverlayRoot(json, id);
  }

  /** The id of the image `ref` names, or null: one cheap call, whatever the store's size. */
  async imageId(ref: string): Promise<string | null> {
    return (await this.inspectOnly(ref))?.id ?? null;
  }

  /**
   * The image `ref` (name, digest reference or id) names, or null when there is none. Costs a
   * listing of the whole store besides the inspect: use imageId() when only the id is needed.
   */
  async inspect(ref: string): Promise<StoredImage | null> {
    const inspected = await this.inspectOnly(ref);
    if (!inspected) return null;
    // Inspect leaves digest names out of RepoTags; the listing's entry is the one to compare with.
    return (await this.listImages()).find((i) => i.id === inspected.id) ?? inspected;
  }

  /**
   * Pulls `reference` (POST /images/create), reading the progress stream to its end. A failure inside
   * the stream, a non-200 answer or a cut-off stream is a PullError; not reaching the API at all is
   * a StoreError. Aborting `signal` ends the pull with kind 'cancelled'.
   */
  async pull(reference: string, opts: PullOptions = {}): Promise<void> {
    const what = `pull ${reference}`;
    StoreClient.checkRef(what, reference);
    const registry = splitReference(reference).registry;
    const base = { reference, registry, socketPath: this.socketPath };
    const { platform, auth, signal, onProgress } = opts;
    const query: Record<string, string> = { fromImage: reference };
    if (platform && (platform.os || platform.architecture)) {
      const parts = [platform.os ?? 'linux', platform.architecture ?? '', platform.variant ?? ''];
      query.platform = parts.filter((p, i) => i < 2 || p !== '').join('/');
    }
    const cancelled = () => new PullError(`${what}: cancelled`, { ...base, kind: 'cancelled' });
    if (signal?.aborted) throw cancelled();

    let res: Readable;
    try {
      res = (await this.modem.dial({
        path: '/images/create?',
        method: 'POST',
        options: query,
        ...(auth ? { authconfig: registryAuthConfig(auth) } : {}),
        isStream: true,
        ...(signal ? { abortSignal: signal } : {}),
        statusCodes: { 200: true },
      })) as Readable;
    } catch (e) {
      if (signal?.aborted) throw cancelled();
      const err = e as ModemError;
      if (typeof err.statusCode === 'number') {
        const message = apiMessage(err);
        throw new PullError(`${what}: Podman answered ${err.statusCode}: ${message}`, {
          ...base,
          kind: err.statusCode >= 500 ? classifyPullFailure(message).kind : 'other',
          status: err.statusCode,
        });
      }
      throw connectionError(this.socketPath, what, e);
    }

    const onAbort = () => res.destroy(new Error('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    let outcome;
    try {
      outcome = await readProgress(res, onProgress);
    } catch (e) {
      if (signal?.aborted) throw cancelled();
      if (e instanceof StoreError) throw new PullError(`${what}: ${e.message}`, { ...base, kind: 'other' });
      throw new PullError(
        `${what}: the progress stream from ${this.socketPath} broke off: ${(e as Error).message}`,
        {
          ...base,
          kind: 'transient',
        },
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (outcome.error !== undefined) {
      const { kind, status } = classifyPullFailure(outcome.error);
      throw new PullError(`${what} from ${registry}: ${outcome.error}`, {
        ...base,
        kind,
        ...(status !== undefined ? { status } : {}),
      });
    }
  }

  /** Removes an image with all its names (DELETE /images/<id>?force=true: the bound store runs no containers). */
  async removeImage(id: string): Promise<void> {
    const m = IMAGE_ID.exec(id);
    if (!m) throw new StoreError(`remove image: not an image id: ${JSON.stringify(id)}`);
    await this.call(`remove image ${id}`, {
      path: `/images/sha256:${m[1]}?`,
      method: 'DELETE',
      options: { force: true },
      statusCodes: { 200: true },
    });
  }

  /**
   * Removes one name (exactly as listImages() reports it) from an image that keeps at least one
   * other name; never removes an image.
   * The last name is refused: untagging it would leave the image dangling and drop its repo digests.
   */
  async untag(name: string): Promise<void> {
    const what = `untag ${name}`;
    StoreClient.checkRef(what, name);
    const owner = (await this.listImages()).find((i) => i.names.includes(name));
    if (!owner)
      throw new StoreError(`${what}: no image in the store has this name`, {
        socketPath: this.socketPath,
        status: 404,
      });
    if (owner.names.length < 2) {
      throw new StoreError(`${what}: it is the only name of image ${owner.id}; remove the image instead`, {
        socketPath: this.socketPath,
      });
    }
    const json = await this.call(what, {
      path: `/images/${name}`,
      method: 'DELETE',
      statusCodes: { 200: true },
    });
    const deleted =
      Array.isArray(json) && json.some((r) => typeof r === 'object' && r !== null && 'Deleted' in r);
    if (deleted) throw new StoreError(`${what}: Podman removed image ${owner.id} instead of one name`);
  }
}
