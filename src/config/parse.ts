// parseConfig: the text of config.ini → a validated Config. Layout problems (unknown section or key,
// repeated key, key outside a section, malformed line) are found by the line scan, values are read by
// `ini` and checked by each key's rule; every error names the file, the section.key and the line.
// The same two steps serve the layered configuration (load.ts): parseLayer() reads one file into its
// settings, applyLayers() applies the layers' settings in order over the defaults (later wins per key).
import ini from 'ini';
import { ConfigError } from './config-error.js';
import { scanIniLines, type IniLine } from './ini-lines.js';
import { defaultConfig, findKeySpec, KEY_SPECS, SECTIONS, type Config, type KeySpec } from './schema.js';
import { show } from './rules.js';

type KeyLine = Extract<IniLine, { kind: 'key' }>;

const KNOWN_SECTIONS = SECTIONS.map((s) => `[${s}]`).join(', ');

/** One key set in one file: the value's text as `ini` reads it, and where it stands. */
export interface ConfigSetting {
  readonly spec: KeySpec;
  readonly text: string;
  readonly file: string;
  readonly line: number;
}

/** One configuration file: what it sets, in file order. Its layout is valid; its values are not checked yet. */
export interface ConfigLayer {
  readonly file: string;
  readonly settings: readonly ConfigSetting[];
}

/** Parse and validate `text`, read from `file` (used in errors and as `Config.file`). Throws ConfigError. */
export function parseConfig(text: string, file: string): Config {
  return applyLayers([parseLayer(text, file)]).config;
}

/**
 * Read and check the settings of one file: its layout, then every value against its key's rule, in
 * file order, so the first problem of the file is the one reported. Throws ConfigError.
 */
export function parseLayer(text: string, file: string): ConfigLayer {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const keyLines = checkLayout(scanIniLines(body), file);

  // The layout check passed: ini reads each known key from exactly one line.
  const decoded: unknown = ini.decode(body);

  const scratch = defaultConfig();
  const settings = keyLines.map(({ entry, spec }): ConfigSetting => {
    const where = { key: settingName(spec), line: entry.line };
    const text = valueText(decodedValue(decoded, spec.section, spec.key), entry);
    if (!text.ok) throw new ConfigError(file, text.reason, where);
    const reason = spec.apply(scratch, text.value);
    if (reason !== undefined) throw new ConfigError(file, reason, where);
    return { spec, text: text.value, file, line: entry.line };
  });
  return { file, settings };
}

/**
 * The defaults, then every layer's settings in order: a key set again in a later layer overrides it.
 * parseLayer() checked every value already, also one a later layer overrides, so no file holds an
 * error unnoticed; a layer built by hand is checked here the same way. `config.file` is the last layer's file (null without layers); `origins` names, per
 * `section.key` set by some layer, the setting in effect.
 */
export function applyLayers(layers: readonly ConfigLayer[]): {
  config: Config;
  origins: Map<string, ConfigSetting>;
} {
  const config = defaultConfig();
  const origins = new Map<string, ConfigSetting>();
  for (const layer of layers) {
    for (const setting of layer.settings) {
      const name = settingName(setting.spec);
      const reason = setting.spec.apply(config, setting.text);
      if (reason !== undefined)
        throw new ConfigError(setting.file, reason, { key: name, line: setting.line });
      origins.set(name, setting);
    }
    config.file = layer.file;
  }
  return { config, origins };
}

function settingName(spec: KeySpec): string {
  return `${spec.section}.${spec.key}`;
}

/**
 * Reject what the line scan shows to be wrong, in file order; return each key line with its spec.
 * After this, every known key appears at most once, so each value `ini` returns has one line.
 */
function checkLayout(lines: IniLine[], file: string): Array<{ entry: KeyLine; spec: KeySpec }> {
  const keyLines: Array<{ entry: KeyLine; spec: KeySpec }> = [];
  const firstLine = new Map<string, number>();
  for (const entry of lines) {
    if (entry.kind === 'unreadable') {
      throw new ConfigError(file, `expected "[section]" or "key = value", got ${show(entry.text)}`, {
        line: entry.line,
      });
    }
    if (entry.kind === 'section') {
      if (!SECTIONS.includes(entry.name)) {
        throw new ConfigError(file, `unknown section [${entry.name}] (known: ${KNOWN_SECTIONS})`, {
          line: entry.line,
        });
      }
      continue;
    }
    if (entry.rawKey.startsWith('[')) {
      // ini reads `[x] ; note` or an indented `  [x]` as a key named "[x]".
      throw new ConfigError(
        file,
        `malformed section header ${show(entry.rawKey)}: "[" must start the line and nothing may follow "]"`,
        { line: entry.line },
      );
    }
    if (entry.section === null) {
      throw new ConfigError(file, `key ${show(entry.rawKey)} comes before any section header`, {
        line: entry.line,
      });
    }
    const name = `${entry.section}.${entry.key}`;
    const spec = findKeySpec(entry.section, entry.key);
    if (spec === undefined) {
      throw new ConfigError(
        file,
        `unknown key ${show(entry.key)} in [${entry.section}]${knownKeys(entry.section)}`,
        {
          key: name,
          line: entry.line,
        },
      );
    }
    if (!entry.hasValue) {
      throw new ConfigError(file, `expected "${entry.rawKey} = value", the "=" is missing`, {
        key: name,
        line: entry.line,
      });
    }
    const first = firstLine.get(name);
    if (first !== undefined) {
      const hint = entry.array ? ' (ini "key[]" lists are not supported: give one value)' : '';
      throw new ConfigError(file, `duplicate key, already set at line ${first}${hint}`, {
        key: name,
        line: entry.line,
      });
    }
    firstLine.set(name, entry.line);
    keyLines.push({ entry, spec });
  }
  return keyLines;
}

function knownKeys(section: string): string {
  const names = KEY_SPECS.filter((s) => s.section === section).map((s) => s.key);
  return ` (known: ${names.join(', ')})`;
}

/** `decoded[section][key]` when both are own properties of objects, else undefined. */
function decodedValue(decoded: unknown, section: string, key: string): unknown {
  const own = (holder: unknown, name: string): unknown =>
    typeof holder === 'object' && holder !== null && Object.hasOwn(holder, name)
      ? (Reflect.get(holder, name) as unknown)
      : undefined;
  return own(own(decoded, section), key);
}

/**
 * The text of a value as `ini` returned it. ini turns `true`, `false` and `null` (quoted or not) into
 * JSON values: give those back their text. Anything else that is not a string is refused.
 */
function valueText(
  value: unknown,
  entry: KeyLine,
): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof value === 'string') return { ok: true, value };
  if (typeof value === 'boolean' || value === null) return { ok: true, value: String(value) };
  if (Array.isArray(value)) {
    return {
      ok: false,
      reason: `${show(entry.rawKey)} is ini array syntax and gives a list; this key takes one value`,
    };
  }
  return { ok: false, reason: `ini read this value as ${typeof value}, not as text` };
}
