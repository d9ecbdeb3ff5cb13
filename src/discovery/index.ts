// The discovery module: from deployment roots to the images they bind, with per-entry errors.
export {
  BOUND_IMAGES_DIR,
  discoverRoot,
  discoverRoots,
  inspectRoot,
  type RootInspection,
} from './discover-root.js';
export { expandRoots } from './expand-roots.js';
export { DEFAULT_LIMITS, resolveLimits, type DiscoveryLimits } from './limits.js';
export { FsCache, InRootError, resolveInRoot, type InRootPath } from './in-root-path.js';
export {
  listInRootDirectory,
  readInRootFile,
  type InRootDirectory,
  type InRootFile,
} from './in-root-read.js';
export { createInRootLoader } from './in-root-loader.js';
