// Data types of the store client's boundary (what the Podman API answers, after validation).
import type { Platform } from '../types.js';
import type { RegistryCredential } from './auth.js';

/** One image of the store, as one listing call reports it. */
export interface StoredImage {
  /** `sha256:<hex>` */
  id: string;
  /** Names (`host/repo:tag`, and `host/repo@sha256:…` for an image pulled by digest); no `<none>:<none>`. */
  names: string[];
  /** Repo digests, `host/repo@sha256:…` */
  digests: string[];
  /** Seconds since the epoch. */
  created?: number;
  /** Bytes. */
  size?: number;
}

/** One line of a pull's progress stream. */
export interface PullProgressEvent {
  status?: string;
  /** Short layer id the status is about. */
  id?: string;
  current?: number;
  total?: number;
}

export interface PullOptions {
  platform?: Platform;
  auth?: RegistryCredential;
  signal?: AbortSignal;
  onProgress?: (e: PullProgressEvent) => void;
}

export interface StoreInfo {
  /** The store directory the service serves (`DockerRootDir`). */
  rootDir: string;
  /** Podman's version (`ServerVersion`). */
  version: string;
}
