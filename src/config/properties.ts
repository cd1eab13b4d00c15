/**
 * Java `.properties` files, read the way java.util.Properties.load reads them,
 * so server.properties and --command-config files written for Kafka work here.
 *
 *  - Lines end with \n, \r or \r\n. Leading blanks (space, tab, form feed) are skipped.
 *  - A line whose first non-blank character is # or ! is a comment.
 *  - The key ends at the first unescaped '=', ':' or blank; blanks around the
 *    separator are skipped, and only one separator is consumed ("a==b" gives "=b").
 *  - A line ending in an odd number of backslashes continues on the next line,
 *    whose leading blanks are dropped. Comment lines never continue.
 *  - Escapes: \t \n \r \f, \uXXXX, and a backslash before any other character
 *    stands for that character (so "\=", "\:", "\ ", "\#" and "\\" work).
 *  - Trailing blanks of a value are kept; a later duplicate key wins.
 *
 * One difference: files are read as UTF-8 (Java reads ISO-8859-1), which is
 * what people actually write; \uXXXX escapes work either way. A leading
 * byte-order mark is ignored.
 */

import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\f';

function skipBlanks(s: string, i: number): number {
  while (i < s.length && isBlank(s[i])) i++;
  return i;
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function unescape(s: string, lineNo: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = s[++i];
    if (next === undefined) break; // a lone trailing backslash is dropped, as Java does
    switch (next) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const hex = s.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          throw new ConfigError({ message: `Malformed \\uXXXX escape on line ${lineNo}: "\\u${hex}"` });
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        out += next;
    }
  }
  return out;
}

/** Parses the text of a .properties file into its entries, in file order. */
export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let n = 0; n < lines.length; n++) {
    const startLine = n + 1;
    let line = lines[n]!.slice(skipBlanks(lines[n]!, 0));
    if (line === '' || line[0] === '#' || line[0] === '!') continue;
    while (endsWithOddBackslashes(line)) {
      line = line.slice(0, -1);
      if (n + 1 >= lines.length) break;
      const next = lines[++n]!;
      line += next.slice(skipBlanks(next, 0));
    }

    // Find the end of the key: the first unescaped '=', ':' or blank.
    let keyEnd = 0;
    let escaped = false;
    for (; keyEnd < line.length; keyEnd++) {
      const c = line[keyEnd]!;
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '=' || c === ':' || isBlank(c)) break;
    }
    let valueStart = skipBlanks(line, keyEnd);
    if (line[valueStart] === '=' || line[valueStart] === ':') valueStart = skipBlanks(line, valueStart + 1);

    result.set(unescape(line.slice(0, keyEnd), startLine), unescape(line.slice(valueStart), startLine));
  }
  return result;
}

/** Reads and parses a .properties file. A missing or unreadable file is a ConfigError. */
export async function readPropertiesFile(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError({ message: `Cannot read configuration file ${path}: ${reason}` });
  }
  try {
    return parseProperties(text);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError({ message: `${path}: ${err.message}` });
    throw err;
  }
}

/**
 * Parses command-line "key=value" pairs (e.g. repeated --override or --config
 * arguments). The value may be empty or contain '='; a pair without '=' or
 * with an empty key is a ConfigError. Later pairs win.
 */
export function parseKeyValuePairs(pairs: readonly string[]): Map<string, string> {
  const result = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError({ value: pair, expected: 'key=value', message: `Invalid property '${pair}': expected key=value` });
    }
    result.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
  }
  return result;
}
