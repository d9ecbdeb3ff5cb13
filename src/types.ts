// Shared data types that cross module boundaries (discovery → reconcile → D-Bus/CLI).
// Pure type declarations: no runtime code lives here.

/** Target platform of a bound image (Quadlet `Arch=`, `OS=`, `Variant=`). */
export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
}

/** One image a deployment root binds, after Quadlet parsing and reference normalization. */
export interface BoundImage {
  /** The deployment root it was found in (absolute host path). */
  root: string;
  /** Normalized reference, e.g. `docker.io/library/nginx:latest` or `quay.io/a/b@sha256:…`. */
  reference: string;
  /** The `Image=` value as written in the file. */
  rawImage: string;
  /** Root-absolute path of the Quadlet file whose `Image=` gave the reference (after symlink and `.image` resolution). */
  sourceFile: string;
  /** Name of the entry in `usr/lib/bootc/bound-images.d/` that led here. */
  entry: string;
  /** Host path of a per-image containers-auth.json (`AuthFile=`), resolved inside the root. */
  authFile?: string;
  platform?: Platform;
}

/** A problem with one entry (or with a whole root when `entry` is absent). Never fatal to the others. */
export interface DiscoveryError {
  root: string;
  /** Entry name in bound-images.d, when the error concerns one entry. */
  entry?: string;
  /** Root-absolute path of the file at fault, when known. */
  file?: string;
  /** 1-based line number in `file`, when known. */
  line?: number;
  message: string;
}

/** What discovery found in one root. */
export interface RootDiscovery {
  root: string;
  /** False when the root itself (or its bound-images.d) could not be read: GC must then be skipped. */
  readable: boolean;
  images: BoundImage[];
  errors: DiscoveryError[];
}
