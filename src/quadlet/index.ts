// The Quadlet module: systemd unit-file syntax and the `.image`/`.container` rules of bound images.
export { QuadletError } from './quadlet-error.js';
export { parseUnitFile, lastEntry, type UnitEntry, type UnitFile } from './unit-file.js';
export { expandSpecifiers, unquote, readValue } from './unit-value.js';
export {
  resolveBoundImageFile,
  type BoundImageSpec,
  type LoadedFile,
  type QuadletLoader,
} from './bound-image-file.js';
