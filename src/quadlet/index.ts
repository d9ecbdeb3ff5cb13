// The Quadlet module: systemd unit-file syntax and the `.image`/`.container` rules of bound images.
export { QuadletError } from './quadlet-error.js';
export { parseUnitFile, lastEntry, type UnitEntry, type UnitFile } from './unit-file.js';
export { expandSpecifiers, unquote, readValue } from './unit-value.js';
export {
  resolveBoundImageFile,
  PLATFORM_VALUE,
  type BoundImageSpec,
  type Kind as QuadletKind,
  type ReadUnit,
  type SpecNote,
  type LoadedFile,
  type QuadletLoader,
} from './bound-image-file.js';
