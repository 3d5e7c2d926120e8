// Declarative command-line options: one table per subcommand gives each option's flag, help
// text, default and parser. The table registers the options with commander and resolves their
// values (flag, then environment variable, then default) into a typed object in one place.
import { Option, type Command } from 'commander';
import { ModelServerError } from '../errors.ts';

export interface OptionSpec<V> {
  /** Flag name without dashes, such as `max-batch-size`. */
  flag: string;
  /** Placeholder in help, such as `N` or `URI`; absent for a switch that takes no value. */
  valueName?: string;
  description: string;
  defaultValue?: V;
  /** How help shows the default, when String(defaultValue) reads badly (such as 512MiB). */
  defaultText?: string;
  /** Parses one raw value; `source` names the flag or variable in error messages. */
  parse(raw: string, source: string): V;
  /**
   * Makes the flag repeatable: every occurrence is collected and this parser turns the list
   * into the value (its environment variable holds the items separated by commas).
   */
  parseList?(raws: string[], source: string): V;
}

export type OptionTable = Record<string, OptionSpec<unknown>>;

/** The resolved values: an option with a default is always set, any other may be undefined. */
export type OptionValues<T extends OptionTable> = {
  [K in keyof T]: T[K] extends { defaultValue: infer V }
    ? V
    : T[K] extends OptionSpec<infer V>
      ? V | undefined
      : never;
};

export function option<V>(
  spec: OptionSpec<V> & { defaultValue: V },
): OptionSpec<V> & { defaultValue: V };
export function option<V>(spec: OptionSpec<V>): OptionSpec<V>;
export function option<V>(spec: OptionSpec<V>): OptionSpec<V> {
  return spec;
}

/** Returns the environment variable of a flag: `max-batch-size` becomes `<PREFIX>MAX_BATCH_SIZE`. */
export function environmentName(prefix: string, flag: string): string {
  return `${prefix}${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** Registers every option of `table` on `command`, with its variable and default in the help. */
export function addOptions(command: Command, table: OptionTable, envPrefix?: string): void {
  for (const spec of Object.values(table)) {
    const notes: string[] = [];
    if (spec.defaultValue !== undefined)
      notes.push(`default: ${spec.defaultText ?? formatDefault(spec.defaultValue)}`);
    if (envPrefix !== undefined) notes.push(`env: ${environmentName(envPrefix, spec.flag)}`);
    const suffix = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    const placeholder = spec.valueName === undefined ? '' : ` <${spec.valueName}>`;
    const commanderOption = new Option(
      `--${spec.flag}${placeholder}`,
      `${spec.description}${suffix}`,
    );
    if (spec.parseList !== undefined) {
      commanderOption.argParser((value: string, previous: string[] | undefined) => [
        ...(previous ?? []),
        value,
      ]);
    }
    command.addOption(commanderOption);
  }
}

/**
 * Resolves each option from the parsed flags, then from `env` when an environment prefix is
 * given, then from its default. Raises MS_ERR_CONFIG_INVALID naming the flag or variable.
 */
export function resolveOptions<T extends OptionTable>(
  table: T,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  envPrefix?: string,
): OptionValues<T> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const flagValue = flags[camelCase(spec.flag)];
    const variable = envPrefix === undefined ? undefined : environmentName(envPrefix, spec.flag);
    const envValue = variable === undefined ? undefined : env[variable];
    if (flagValue !== undefined) {
      values[key] = parseFlagValue(spec, flagValue);
    } else if (variable !== undefined && envValue !== undefined && envValue !== '') {
      values[key] =
        spec.parseList === undefined
          ? spec.parse(envValue, variable)
          : spec.parseList(
              envValue.split(',').map((part) => part.trim()),
              variable,
            );
    } else {
      values[key] = spec.defaultValue;
    }
  }
  return values as OptionValues<T>;
}

function parseFlagValue(spec: OptionSpec<unknown>, value: unknown): unknown {
  const source = `--${spec.flag}`;
  if (value === true) return spec.parse('true', source);
  if (Array.isArray(value) && spec.parseList !== undefined)
    return spec.parseList(value.map(String), source);
  return spec.parse(String(value), source);
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function formatDefault(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Raises the standard error for a required option that has no value. */
export function requireValue<V>(value: V | undefined, flag: string, hint: string): V {
  if (value === undefined) {
    throw new ModelServerError('MS_ERR_CONFIG_INVALID', `--${flag} is required: ${hint}`);
  }
  return value;
}
