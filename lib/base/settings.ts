/**
 * Config is data: one table of settings (name, type, default, range, unit, doc) feeds validation,
 * CLI flags and the README's configuration table. `validateSettings` checks an input once against
 * the table, fills defaults, and returns a frozen object; any bad value raises INVALID_CONFIG with
 * a message naming the setting. Relations between settings are checked by the owner's `check`.
 */
import { FlotillaError } from './errors.js';

export type SettingSpec =
  | { readonly type: 'int'; readonly default: number; readonly min: number; readonly max: number; readonly unit?: string; readonly doc: string }
  | { readonly type: 'number'; readonly default: number; readonly min: number; readonly max: number; readonly unit?: string; readonly doc: string }
  | { readonly type: 'bool'; readonly default: boolean; readonly doc: string }
  | { readonly type: 'string'; readonly default: string; readonly doc: string }
  | { readonly type: 'enum'; readonly default: string; readonly values: readonly string[]; readonly doc: string };

export type SettingsTable = Readonly<Record<string, SettingSpec>>;

type ValueOf<S extends SettingSpec> = S extends { type: 'bool' }
  ? boolean
  : S extends { type: 'int' | 'number' }
    ? number
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : string;

export type SettingsOf<T extends SettingsTable> = { readonly [K in keyof T]: ValueOf<T[K]> };

export function defaultsOf<T extends SettingsTable>(table: T): SettingsOf<T> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) out[name] = spec.default;
  return Object.freeze(out) as SettingsOf<T>;
}

/**
 * Validates `input` against `table`: unknown names, wrong types and out-of-range values are
 * rejected with the setting's name (prefixed by `scope`, e.g. "raft.electionTicksMin").
 */
export function validateSettings<T extends SettingsTable>(
  table: T,
  input: Readonly<Record<string, unknown>> | undefined,
  scope: string,
  check?: (settings: SettingsOf<T>, fail: (name: keyof T & string, why: string) => never) => void,
): SettingsOf<T> {
  const out: Record<string, unknown> = {};
  const fail = (name: string, why: string): never => {
    throw new FlotillaError('INVALID_CONFIG', `${scope}.${name} ${why}`, { setting: `${scope}.${name}` });
  };
  for (const key of Object.keys(input ?? {})) {
    if (!Object.hasOwn(table, key)) fail(key, 'is not a known setting');
  }
  for (const [name, spec] of Object.entries(table)) {
    const raw = input?.[name];
    if (raw === undefined) {
      out[name] = spec.default;
      continue;
    }
    switch (spec.type) {
      case 'int':
      case 'number': {
        if (typeof raw !== 'number' || !Number.isFinite(raw) || (spec.type === 'int' && !Number.isInteger(raw))) {
          fail(name, `must be ${spec.type === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
        }
        const n = raw as number;
        if (n < spec.min || n > spec.max) fail(name, `must be between ${spec.min} and ${spec.max}${spec.unit ? ` ${spec.unit}` : ''}, got ${n}`);
        out[name] = n;
        break;
      }
      case 'bool':
        if (typeof raw !== 'boolean') fail(name, `must be true or false, got ${JSON.stringify(raw)}`);
        out[name] = raw;
        break;
      case 'string':
        if (typeof raw !== 'string') fail(name, `must be a string, got ${JSON.stringify(raw)}`);
        out[name] = raw;
        break;
      case 'enum':
        if (typeof raw !== 'string' || !spec.values.includes(raw)) fail(name, `must be one of ${spec.values.join(', ')}, got ${JSON.stringify(raw)}`);
        out[name] = raw;
        break;
    }
  }
  const settings = Object.freeze(out) as SettingsOf<T>;
  check?.(settings, fail as (name: keyof T & string, why: string) => never);
  return settings;
}

/** Renders a settings table as Markdown rows (for the README's configuration table). */
export function settingsMarkdown(table: SettingsTable, scope: string): string {
  const rows = ['| setting | default | range | doc |', '| --- | --- | --- | --- |'];
  for (const [name, spec] of Object.entries(table)) {
    const range = spec.type === 'int' || spec.type === 'number'
      ? `${spec.min}..${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`
      : spec.type === 'enum' ? spec.values.join(' \\| ') : spec.type;
    rows.push(`| \`${scope}.${name}\` | \`${String(spec.default)}\` | ${range} | ${spec.doc} |`);
  }
  return rows.join('\n');
}
