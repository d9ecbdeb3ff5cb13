// The configuration in effect, written back as config.ini text for `bound-imaged --check-config`:
// every key of every section, the value in effect, and for a key some file set, that file and line
// (in a comment line above it: ini cannot end a quoted value with a comment). The text parses back
// to the same configuration.
import type { LoadedConfig } from './load.js';
import { KEY_SPECS, SECTIONS } from './schema.js';

/** A value as config.ini text: bare when ini reads it back unchanged, else double-quoted (JSON). */
export function iniValue(text: string): string {
  return /^[^\s;#"'\\]([^;#\\]*[^\s;#\\])?$/.test(text) ? text : JSON.stringify(text);
}

export function renderEffective(loaded: LoadedConfig): string {
  const from =
    loaded.files.length === 0
      ? '# no configuration file found: built-in defaults\n'
      : `# read, later files overriding earlier ones per key:\n${loaded.files.map((f) => `#   ${f}\n`).join('')}`;
  const sections = SECTIONS.map((section) => {
    const lines = KEY_SPECS.filter((s) => s.section === section).map((spec) => {
      const origin = loaded.origins.get(`${spec.section}.${spec.key}`);
      const value = iniValue(origin?.text ?? spec.default);
      return origin === undefined
        ? `${spec.key} = ${value}\n`
        : `; ${origin.file}:${origin.line}\n${spec.key} = ${value}\n`;
    });
    return `\n[${section}]\n${lines.join('')}`;
  });
  return from + sections.join('');
}
