/**
 * Listener and ZooKeeper address parsing, following Kafka's rules:
 *
 *  - A listener is NAME://host:port. The name is upper-cased; its security
 *    protocol comes from listener.security.protocol.map. An empty host
 *    ("PLAINTEXT://:9092") means every interface and is kept as host ''.
 *    IPv6 literals are written in brackets ("SSL://[::1]:9093") and stored bare.
 *  - listeners: names unique; ports unique, except that one IPv4 and one IPv6
 *    literal may share a port.
 *  - advertised.listeners: names unique and among the listener names; the
 *    0.0.0.0 and :: wildcard addresses are refused; ports may repeat.
 */

import { isIP } from 'node:net';
import { invalidValue, type ConfigProblem } from './errors.js';
import { SECURITY_PROTOCOLS } from './broker-settings.js';

export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

export interface Endpoint {
  /** Listener name, upper case (e.g. "PLAINTEXT", "INTERNAL"). */
  readonly name: string;
  /** Host name or IP literal; '' means all interfaces. */
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: SecurityProtocol;
}

/** Result type of the parsers here: a value, or the problems found. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: ConfigProblem[] };

const ENDPOINT = /^(.*):\/\/\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$/;
const CSV = /\s*,\s*/;

function splitCsv(text: string): string[] {
  return text
    .trim()
    .split(CSV)
    .filter((x) => x !== '');
}

/** Parses listener.security.protocol.map ("NAME:PROTOCOL,..."). */
export function parseSecurityProtocolMap(key: string, text: string): Parsed<ReadonlyMap<string, SecurityProtocol>> {
  const map = new Map<string, SecurityProtocol>();
  const expected = `comma-separated NAME:PROTOCOL pairs with PROTOCOL one of [${SECURITY_PROTOCOLS.join(', ')}]`;
  for (const entry of splitCsv(text)) {
    const parts = entry.split(/\s*:\s*/);
    const protocol = parts[1]?.toUpperCase() as SecurityProtocol | undefined;
    if (parts.length !== 2 || parts[0] === '' || !protocol || !SECURITY_PROTOCOLS.includes(protocol)) {
      return { ok: false, problems: [invalidValue(key, text, expected)] };
    }
    const name = parts[0]!.toUpperCase();
    if (map.has(name)) {
      return { ok: false, problems: [invalidValue(key, text, `each listener name at most once (${name} repeats)`)] };
    }
    map.set(name, protocol);
  }
  return { ok: true, value: map };
}

function parseEndpoint(
  key: string,
  whole: string,
  entry: string,
  protocols: ReadonlyMap<string, SecurityProtocol>,
): Endpoint | ConfigProblem {
  const m = ENDPOINT.exec(entry);
  if (!m) return invalidValue(key, whole, `comma-separated NAME://host:port entries ('${entry}' is not one)`);
  const name = m[1]!.toUpperCase();
  const port = Number(m[3]);
  if (name === '') return invalidValue(key, whole, `a listener name before :// in '${entry}'`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return invalidValue(key, whole, `a port between 0 and 65535 in '${entry}'`);
  }
  const securityProtocol = protocols.get(name);
  if (!securityProtocol) {
    return invalidValue(
      key,
      whole,
      `listener names defined in listener.security.protocol.map (no security protocol for ${name})`,
    );
  }
  return { name, host: m[2]!, port, securityProtocol };
}

/** Parses a listeners or advertised.listeners value into endpoints, checking Kafka's rules. */
export function parseListeners(
  key: string,
  text: string,
  protocols: ReadonlyMap<string, SecurityProtocol>,
  kind: 'listeners' | 'advertised',
): Parsed<readonly Endpoint[]> {
  const endpoints: Endpoint[] = [];
  for (const entry of splitCsv(text)) {
    const e = parseEndpoint(key, text, entry, protocols);
    if (!('port' in e)) return { ok: false, problems: [e] };
    endpoints.push(Object.freeze(e));
  }
  if (endpoints.length === 0) return { ok: false, problems: [invalidValue(key, text, 'at least one NAME://host:port entry')] };

  const names = new Set<string>();
  for (const e of endpoints) {
    if (names.has(e.name))
      return { ok: false, problems: [invalidValue(key, text, `each listener name once (${e.name} repeats)`)] };
    names.add(e.name);
  }
  if (kind === 'listeners') {
    for (let i = 0; i < endpoints.length; i++) {
      for (let j = i + 1; j < endpoints.length; j++) {
        const a = endpoints[i]!;
        const b = endpoints[j]!;
        if (a.port !== b.port || a.port === 0) continue;
        const fa = isIP(a.host);
        const fb = isIP(b.host);
        if (fa !== 0 && fb !== 0 && fa !== fb) continue; // one IPv4 and one IPv6 literal may share a port
        return {
          ok: false,
          problems: [
            invalidValue(key, text, `each port once, unless shared by one IPv4 and one IPv6 address (${a.port} repeats)`),
          ],
        };
      }
    }
  } else {
    const meta = endpoints.find((e) => e.host === '0.0.0.0' || e.host === '::');
    if (meta)
      return {
        ok: false,
        problems: [invalidValue(key, text, `routable addresses (${meta.host} cannot be advertised, see ${meta.name})`)],
      };
  }
  return { ok: true, value: Object.freeze(endpoints) };
}

/** A parsed zookeeper.connect value. */
export interface ZooKeeperConnect {
  /** The servers, in the order given. */
  readonly servers: readonly { readonly host: string; readonly port: number }[];
  /** The chroot path ("/kafka"), or '' when none. */
  readonly chroot: string;
  /** The servers part as a connect string without the chroot. */
  readonly connectString: string;
}

const ZK_DEFAULT_PORT = 2181;

/** Parses host:port[,host:port...][/chroot]. A missing port means ZooKeeper's 2181. */
export function parseZooKeeperConnect(key: string, text: string): Parsed<ZooKeeperConnect> {
  const expected = 'host:port[,host:port...][/chroot]';
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const hostsPart = slash < 0 ? trimmed : trimmed.slice(0, slash);
  let chroot = slash < 0 ? '' : trimmed.slice(slash);
  if (chroot === '/') chroot = '';
  if (chroot !== '' && (chroot.endsWith('/') || chroot.includes('//') || /\s/.test(chroot))) {
    return { ok: false, problems: [invalidValue(key, text, `${expected} with a chroot like /kafka (got '${chroot}')`)] };
  }
  const servers: { host: string; port: number }[] = [];
  for (const entry of splitCsv(hostsPart)) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+))(?::(\d+))?$/.exec(entry);
    const port = m?.[3] === undefined ? ZK_DEFAULT_PORT : Number(m[3]);
    if (!m || port < 1 || port > 65535) return { ok: false, problems: [invalidValue(key, text, expected)] };
    servers.push(Object.freeze({ host: (m[1] ?? m[2])!, port }));
  }
  if (servers.length === 0) return { ok: false, problems: [invalidValue(key, text, expected)] };
  const connectString = servers.map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`).join(',');
  return { ok: true, value: Object.freeze({ servers: Object.freeze(servers), chroot, connectString }) };
}
