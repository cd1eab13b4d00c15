/**
 * How a setting is declared, parsed, validated and printed.
 *
 * Every setting has one of Kafka's config types. Values are held as:
 *   boolean -> boolean; int, short, long, double -> number; list -> readonly string[];
 *   string, password, class -> string. A setting whose default is null may be null.
 *
 * Longs are JavaScript numbers: exact up to 2^53, and Kafka's Long.MAX_VALUE
 * (the usual "no limit" default) is the number LONG_MAX (= 2^63 as a double),
 * which prints back as 9223372036854775807. Callers that arm timers from a
 * long setting must clamp it themselves (setTimeout caps at 2^31-1 ms).
 *
 * Values are printed the way Kafka prints them in DescribeConfigs: lists joined
 * by ",", doubles in Java's Double.toString form ("0.5", "1.0", "1.7976931348623157E308").
 */

/** Kafka's Long.MAX_VALUE as a number (2^63; prints as 9223372036854775807). */
export const LONG_MAX = 2 ** 63;
/** Kafka's Long.MIN_VALUE as a number. */
export const LONG_MIN = -(2 ** 63);
/** Kafka's Integer.MAX_VALUE. */
export const INT_MAX = 2 ** 31 - 1;
/** Kafka's Double.MAX_VALUE. */
export const DOUBLE_MAX = Number.MAX_VALUE;

export type SettingType = 'boolean' | 'int' | 'short' | 'long' | 'double' | 'string' | 'list' | 'password' | 'class';

export interface SettingTypeMap {
  boolean: boolean;
  int: number;
  short: number;
  long: number;
  double: number;
  string: string;
  list: readonly string[];
  password: string;
  class: string;
}

export type Importance = 'high' | 'medium' | 'low';

/** Kafka's "dynamic update mode" of a broker setting. */
export type UpdateMode = 'read-only' | 'per-broker' | 'cluster-wide';

/** DescribeConfigs ConfigSource codes (Kafka's numbering). */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
} as const;
export type ConfigSource = (typeof ConfigSource)[keyof typeof ConfigSource];

/** DescribeConfigs (v3+) ConfigType codes. */
export const ConfigType = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
} as const;
export type ConfigType = (typeof ConfigType)[keyof typeof ConfigType];

export const CONFIG_TYPE_CODE: Readonly<Record<SettingType, ConfigType>> = {
  boolean: ConfigType.BOOLEAN,
  string: ConfigType.STRING,
  int: ConfigType.INT,
  short: ConfigType.SHORT,
  long: ConfigType.LONG,
  double: ConfigType.DOUBLE,
  list: ConfigType.LIST,
  class: ConfigType.CLASS,
  password: ConfigType.PASSWORD,
};

// ---------------------------------------------------------------------------
// Validators

export type Validator =
  | { readonly kind: 'range'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'one-of'; readonly values: readonly string[] }
  | { readonly kind: 'list-of'; readonly values: readonly string[] }
  | { readonly kind: 'custom'; readonly expected: string; readonly test: (value: unknown) => boolean };

export const atLeast = (min: number): Validator => ({ kind: 'range', min });
export const between = (min: number, max: number): Validator => ({ kind: 'range', min, max });
export const oneOf = (...values: string[]): Validator => ({ kind: 'one-of', values });
export const listOf = (...values: string[]): Validator => ({ kind: 'list-of', values });
export const custom = (expected: string, test: (value: unknown) => boolean): Validator => ({ kind: 'custom', expected, test });

// ---------------------------------------------------------------------------
// Declarations

export interface SettingSpec<T extends SettingType = SettingType, D = unknown> {
  readonly type: T;
  /** Kafka's default, in the typed form (null = unset). */
  readonly default: D;
  /** One line saying what the setting does. */
  readonly doc: string;
  readonly importance: Importance;
  /** Whether the broker setting can change at runtime (ignored for topic settings). */
  readonly updateMode: UpdateMode;
  readonly validator?: Validator;
  /** Never echoed back (passwords). */
  readonly sensitive: boolean;
}

export interface SpecOptions {
  readonly importance?: Importance;
  readonly mode?: UpdateMode;
  readonly validator?: Validator;
}

function spec<T extends SettingType, D>(type: T, dflt: D, doc: string, o: SpecOptions = {}): SettingSpec<T, D> {
  const base = {
    type,
    default: dflt,
    doc,
    importance: o.importance ?? 'medium',
    updateMode: o.mode ?? 'read-only',
    sensitive: type === 'password',
  };
  return (o.validator ? { ...base, validator: o.validator } : base) as SettingSpec<T, D>;
}

export const bool = <const D extends boolean | null>(d: D, doc: string, o?: SpecOptions) => spec('boolean', d, doc, o);
export const int = <const D extends number | null>(d: D, doc: string, o?: SpecOptions) => spec('int', d, doc, o);
export const short = <const D extends number | null>(d: D, doc: string, o?: SpecOptions) => spec('short', d, doc, o);
export const long = <const D extends number | null>(d: D, doc: string, o?: SpecOptions) => spec('long', d, doc, o);
export const double = <const D extends number | null>(d: D, doc: string, o?: SpecOptions) => spec('double', d, doc, o);
export const str = <const D extends string | null>(d: D, doc: string, o?: SpecOptions) => spec('string', d, doc, o);
export const list = <const D extends readonly string[] | null>(d: D, doc: string, o?: SpecOptions) => spec('list', d, doc, o);
export const password = (doc: string, o?: SpecOptions) => spec('password', null, doc, o);
export const klass = <const D extends string | null>(d: D, doc: string, o?: SpecOptions) => spec('class', d, doc, o);

/** The TypeScript type of a declared setting's value. */
export type ValueOf<S> =
  S extends SettingSpec<infer T, infer D> ? (null extends D ? SettingTypeMap[T] | null : SettingTypeMap[T]) : never;

/** Attaches each setting's name to its declaration and freezes the table. */
export function defineSettings<M extends Record<string, SettingSpec>>(
  specs: M,
): { readonly [K in keyof M & string]: M[K] & { readonly name: K } } {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    const dflt = Array.isArray(s.default) ? Object.freeze([...(s.default as unknown[])]) : s.default;
    out[name] = Object.freeze({ ...s, default: dflt, name });
  }
  return Object.freeze(out) as { readonly [K in keyof M & string]: M[K] & { readonly name: K } };
}

export type NamedSpec = SettingSpec & { readonly name: string };

// ---------------------------------------------------------------------------
// Parsing

export type ParseResult =
  | { readonly ok: true; readonly value: unknown; readonly text: string | null }
  | { readonly ok: false; readonly expected: string };

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?$/;
const LIST_SPLIT = /\s*,\s*/;
const INT_RANGE = { int: [-(2 ** 31), 2 ** 31 - 1], short: [-(2 ** 15), 2 ** 15 - 1] } as const;
const BIG_LONG_MAX = 2n ** 63n - 1n;
const BIG_LONG_MIN = -(2n ** 63n);

function typeExpected(type: SettingType): string {
  switch (type) {
    case 'boolean':
      return 'true or false';
    case 'int':
      return 'a 32-bit integer';
    case 'short':
      return 'a 16-bit integer';
    case 'long':
      return 'a 64-bit integer';
    case 'double':
      return 'a number';
    case 'list':
      return 'a comma-separated list';
    case 'class':
      return 'a class name';
    default:
      return 'a string';
  }
}

/** What a setting accepts, in words: "a 32-bit integer at least 1". */
export function expectedFor(s: SettingSpec): string {
  const base = typeExpected(s.type);
  const v = s.validator;
  if (!v) return base;
  switch (v.kind) {
    case 'range':
      if (v.min !== undefined && v.max !== undefined) return `${base} between ${fmtBound(s, v.min)} and ${fmtBound(s, v.max)}`;
      if (v.min !== undefined) return `${base} at least ${fmtBound(s, v.min)}`;
      return `${base} at most ${fmtBound(s, v.max!)}`;
    case 'one-of':
      return `one of [${v.values.join(', ')}]`;
    case 'list-of':
      return `a comma-separated list of values from [${v.values.join(', ')}]`;
    case 'custom':
      return v.expected;
  }
}

function fmtBound(_s: SettingSpec, n: number): string {
  return String(n);
}

/** Kafka's "Valid Values" column: "[1,...]", "[0.0,...,1.0]", "[delete, compact]". */
export function validValues(s: SettingSpec): string {
  const v = s.validator;
  if (!v) return '';
  switch (v.kind) {
    case 'range':
      if (v.min !== undefined && v.max !== undefined) return `[${fmtBound(s, v.min)},...,${fmtBound(s, v.max)}]`;
      if (v.min !== undefined) return `[${fmtBound(s, v.min)},...]`;
      return `[...,${fmtBound(s, v.max!)}]`;
    case 'one-of':
    case 'list-of':
      return `[${v.values.join(', ')}]`;
    case 'custom':
      return v.expected;
  }
}

function parseLongText(t: string): ParseResult {
  if (!INTEGER.test(t)) return { ok: false, expected: '' };
  const b = BigInt(t);
  if (b > BIG_LONG_MAX || b < BIG_LONG_MIN) return { ok: false, expected: '' };
  return { ok: true, value: Number(b), text: b.toString() };
}

function longFromNumber(n: number): ParseResult {
  if (!Number.isInteger(n)) return { ok: false, expected: '' };
  if (n === LONG_MAX) return { ok: true, value: n, text: BIG_LONG_MAX.toString() };
  if (n < LONG_MIN || n > LONG_MAX) return { ok: false, expected: '' };
  return { ok: true, value: n, text: formatLong(n) };
}

/**
 * Turns a supplied value (a string from a file, or a typed value given
 * programmatically) into the typed value and its canonical text. Strings are
 * trimmed first, as Kafka does. Does not apply the validator.
 */
export function parseValue(s: SettingSpec, input: unknown): ParseResult {
  const fail: ParseResult = { ok: false, expected: expectedFor(s) };
  if (input === null || input === undefined) {
    return s.default === null ? { ok: true, value: null, text: null } : fail;
  }
  const t = typeof input === 'string' ? input.trim() : undefined;
  switch (s.type) {
    case 'boolean': {
      if (typeof input === 'boolean') return { ok: true, value: input, text: String(input) };
      const lower = t?.toLowerCase();
      if (lower === 'true' || lower === 'false') return { ok: true, value: lower === 'true', text: lower };
      return fail;
    }
    case 'int':
    case 'short': {
      const [lo, hi] = INT_RANGE[s.type];
      let n: number;
      if (typeof input === 'number') n = input;
      else if (t !== undefined && INTEGER.test(t)) n = Number(t);
      else return fail;
      if (!Number.isInteger(n) || n < lo || n > hi) return fail;
      return { ok: true, value: n + 0, text: String(n + 0) };
    }
    case 'long': {
      const r = typeof input === 'number' ? longFromNumber(input) : t !== undefined ? parseLongText(t) : fail;
      return r.ok ? r : fail;
    }
    case 'double': {
      let n: number;
      if (typeof input === 'number') n = input;
      else if (t !== undefined && DECIMAL.test(t)) n = Number(t.replace(/[fFdD]$/, ''));
      else return fail;
      if (!Number.isFinite(n)) return fail;
      return { ok: true, value: n, text: formatDouble(n) };
    }
    case 'list': {
      let items: string[];
      if (Array.isArray(input)) {
        if (!input.every((x) => typeof x === 'string')) return fail;
        items = (input as string[]).map((x) => x.trim());
      } else if (t !== undefined) {
        items = t === '' ? [] : t.split(LIST_SPLIT);
      } else return fail;
      return { ok: true, value: Object.freeze(items), text: items.join(',') };
    }
    default:
      if (t === undefined) return fail;
      return { ok: true, value: t, text: t };
  }
}

/** Applies the setting's validator; returns what was expected, or null if fine. Null values pass. */
export function checkValue(s: SettingSpec, value: unknown): string | null {
  const v = s.validator;
  if (!v || value === null) return null;
  switch (v.kind) {
    case 'range': {
      const n = value as number;
      if ((v.min !== undefined && n < v.min) || (v.max !== undefined && n > v.max)) return expectedFor(s);
      return null;
    }
    case 'one-of':
      return v.values.includes(value as string) ? null : expectedFor(s);
    case 'list-of':
      return (value as readonly string[]).every((x) => v.values.includes(x)) ? null : expectedFor(s);
    case 'custom':
      return v.test(value) ? null : v.expected;
  }
}

/** Parses and validates in one step. */
export function parseAndCheck(s: SettingSpec, input: unknown): ParseResult {
  const r = parseValue(s, input);
  if (!r.ok) return r;
  const bad = checkValue(s, r.value);
  return bad === null ? r : { ok: false, expected: bad };
}

// ---------------------------------------------------------------------------
// Printing

/** Prints a long the way Java does, mapping LONG_MAX/LONG_MIN to their exact digits. */
export function formatLong(n: number): string {
  if (Number.isSafeInteger(n)) return String(n + 0);
  if (n >= LONG_MAX) return BIG_LONG_MAX.toString();
  if (n <= LONG_MIN) return BIG_LONG_MIN.toString();
  return BigInt(Math.trunc(n)).toString();
}

/** Prints a double the way Java's Double.toString does ("1.0", "0.5", "1.0E7"). */
export function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs >= 1e-3 && abs < 1e7) {
    const plain = String(n);
    return plain.includes('.') ? plain : `${plain}.0`;
  }
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

/** The canonical text of a typed value (null stays null). */
export function formatValue(s: SettingSpec, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  switch (s.type) {
    case 'long':
      return formatLong(value as number);
    case 'double':
      return formatDouble(value as number);
    case 'list':
      return (value as readonly string[]).join(',');
    default:
      return String(value);
  }
}
