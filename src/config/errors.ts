/**
 * The one error type of the configuration layer.
 *
 * A ConfigError carries every problem found in one pass (a file with three bad
 * lines reports all three at once), and its message names each key, the value
 * given and what was expected. `key`, `value` and `expected` repeat the first
 * problem for callers that only look at one.
 */

export interface ConfigProblem {
  /** The setting at fault, when there is one (a missing file has none). */
  readonly key?: string;
  /** The value as it was supplied. */
  readonly value?: string | null;
  /** What would have been accepted, e.g. "an integer at least 1". */
  readonly expected?: string;
  /** A complete sentence describing the problem. */
  readonly message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  readonly key: string | undefined;
  readonly value: string | null | undefined;
  readonly expected: string | undefined;

  constructor(problems: ConfigProblem | readonly ConfigProblem[]) {
    const list = Array.isArray(problems) ? [...(problems as readonly ConfigProblem[])] : [problems as ConfigProblem];
    if (list.length === 0) throw new TypeError('ConfigError needs at least one problem');
    const message =
      list.length === 1
        ? list[0]!.message
        : `${list.length} configuration problems:\n${list.map((p) => `  - ${p.message}`).join('\n')}`;
    super(message);
    this.name = 'ConfigError';
    this.problems = Object.freeze(list);
    this.key = list[0]!.key;
    this.value = list[0]!.value;
    this.expected = list[0]!.expected;
  }
}

/** Builds the standard "bad value" problem. */
export function invalidValue(key: string, value: string | null, expected: string): ConfigProblem {
  const shown = value === null ? 'null' : `'${value}'`;
  return { key, value, expected, message: `Invalid value ${shown} for configuration '${key}': expected ${expected}` };
}

/**
 * A rejected entry of a CreateTopics / AlterConfigs / IncrementalAlterConfigs
 * request. `error` is the Kafka error the handler should answer with:
 * INVALID_CONFIG for unknown names and bad values, INVALID_REQUEST for
 * settings that cannot be changed that way (read-only broker settings).
 */
export interface ConfigIssue {
  readonly name: string;
  readonly value: string | null;
  readonly error: 'INVALID_CONFIG' | 'INVALID_REQUEST';
  readonly message: string;
}
