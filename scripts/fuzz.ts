/**
 * Protocol decoder fuzzer.
 *
 * For every request API and version (and the request header), builds a valid
 * frame from a random sample value, then feeds the decoder random bytes,
 * truncations of the frame, random bit flips and random splices. A decoder
 * must either return a value or throw ProtocolError; anything else (a
 * TypeError, RangeError, a hang, a huge allocation) is a bug.
 *
 *   npx tsx scripts/fuzz.ts [--rounds N] [--seed S] [--responses]
 *   node --expose-gc dist/scripts/fuzz.js --rounds 200
 *
 * Memory (heap and RSS) is sampled between rounds to show it does not grow.
 * The sample-value builder here is also used by test/protocol/*.test.ts.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Reader, Writer, uuidFromBytes, type UnknownTaggedField } from '../src/protocol/primitives.js';
import { ProtocolError } from '../src/protocol/protocol-error.js';
import { decodeRequestHeader } from '../src/protocol/messages/headers.js';
import { fieldDefault, inVersions, type FieldSchema, type MessageSchema, type StructSchema } from '../src/protocol/messages/schema.js';
import { messageSchemas } from '../src/protocol/messages/schemas.js';

// ---------------------------------------------------------------------------
// Deterministic randomness

export type Rand = () => number;

/** mulberry32: small, fast, good enough for test data. */
export function makeRand(seed: number): Rand {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to derive per-message seeds from names. */
export function seedOf(text: string, base = 0): number {
  let h = (0x811c9dc5 ^ base) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function int(rand: Rand, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function randomBytes(rand: Rand, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = int(rand, 0, 255);
  return buf;
}

// ---------------------------------------------------------------------------
// Sample values from the generated schema descriptors

const ALPHABET = ['a', 'b', 'k', 'z', '0', '7', '-', '_', '.', ' ', 'é', 'ß', '漢', '🙂'];

export interface SampleOptions {
  /** Adds unknown tagged fields to every encoded struct (flexible versions only). */
  unknownTaggedFields?: boolean;
  /** Probability that a nullable value is null. */
  nullChance?: number;
}

interface SampleContext {
  version: number;
  rand: Rand;
  unknown: boolean;
  nullChance: number;
}

export function isFlexible(schema: MessageSchema, version: number): boolean {
  return schema.flexibleFrom !== null && version >= schema.flexibleFrom;
}

/** A random, valid value of `schema` for `version`; absent fields hold their defaults. */
export function sampleMessage(schema: MessageSchema, version: number, rand: Rand, options: SampleOptions = {}): Record<string, unknown> {
  return sampleStruct(schema, {
    version,
    rand,
    unknown: options.unknownTaggedFields === true && isFlexible(schema, version),
    nullChance: options.nullChance ?? 0.2,
  });
}

function sampleStruct(s: StructSchema, ctx: SampleContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) out[f.name] = inVersions(f.versions, ctx.version) ? sampleField(f, ctx) : fieldDefault(f);
  if (ctx.unknown) {
    const tags = unknownTags(s, ctx.rand);
    if (tags.length > 0) out['_unknownTaggedFields'] = tags;
  }
  return out;
}

/** One or two tagged fields with tags no known field of `s` uses, in ascending order. */
export function unknownTags(s: StructSchema, rand: Rand): UnknownTaggedField[] {
  let tag = 1 + Math.max(-1, ...s.fields.map((f) => f.tag ?? -1)) + int(rand, 0, 3);
  const out: UnknownTaggedField[] = [];
  const count = int(rand, 1, 2);
  for (let i = 0; i < count; i++) {
    out.push({ tag, data: randomBytes(rand, int(rand, 0, 4)) });
    tag += 1 + int(rand, 0, 200);
  }
  return out;
}

function sampleField(f: FieldSchema, ctx: SampleContext): unknown {
  if (inVersions(f.nullableVersions, ctx.version) && ctx.rand() < ctx.nullChance) return null;
  if (f.array) {
    const n = ctx.rand() < 0.1 ? 0 : int(ctx.rand, 1, 2);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(sampleValue(f, ctx));
    return out;
  }
  return sampleValue(f, ctx);
}

function sampleValue(f: FieldSchema, ctx: SampleContext): unknown {
  const { rand } = ctx;
  switch (f.type) {
    case 'bool':
      return rand() < 0.5;
    case 'int8':
      return int(rand, -128, 127);
    case 'int16':
      return int(rand, -32768, 32767);
    case 'uint16':
      return int(rand, 0, 65535);
    case 'int32':
      return int(rand, -2147483648, 2147483647);
    case 'uint32':
      return int(rand, 0, 4294967295);
    case 'int64':
      return BigInt.asIntN(64, (BigInt(int(rand, 0, 0xffffffff)) << 32n) | BigInt(int(rand, 0, 0xffffffff)));
    case 'float64':
      return Math.round((rand() - 0.5) * 1e9) / 1024;
    case 'string': {
      let s = '';
      const n = int(rand, 0, 6);
      for (let i = 0; i < n; i++) s += ALPHABET[int(rand, 0, ALPHABET.length - 1)];
      return s;
    }
    case 'bytes':
      return randomBytes(rand, int(rand, 0, 6));
    case 'records':
      return randomBytes(rand, int(rand, 0, 24));
    case 'uuid':
      return uuidFromBytes(randomBytes(rand, 16));
    case 'struct':
      return sampleStruct(f.struct!, ctx);
  }
}

export function encodeToBuffer(schema: MessageSchema, value: unknown, version: number): Buffer {
  const w = new Writer();
  schema.encode(w, value, version);
  return w.toBuffer();
}

// ---------------------------------------------------------------------------
// Fuzzing

export interface FuzzStats {
  decoded: number;
  rejected: number;
}

export interface FuzzPlan {
  /** Random byte strings. */
  random: number;
  /** Truncation points of the valid frame (all of them when the frame is shorter). */
  truncations: number;
  /** Copies of the frame with 1-4 flipped bits. */
  flips: number;
  /** Copies of the frame with a random run of bytes overwritten. */
  splices: number;
}

/** Decodes `bytes`; returns normally or throws ProtocolError, else throws a descriptive Error. */
export function tryDecode(decode: (r: Reader) => unknown, bytes: Buffer, stats: FuzzStats, label: string): void {
  try {
    decode(new Reader(bytes));
    stats.decoded++;
  } catch (err) {
    if (err instanceof ProtocolError) {
      stats.rejected++;
      return;
    }
    const e = err as Error;
    throw new Error(`${label}: decoding threw ${e?.name}: ${e?.message}\n  input: ${bytes.toString('hex')}`, { cause: err });
  }
}

/** Runs one fuzz plan against a decoder, around one valid frame. */
export function fuzzFrame(decode: (r: Reader) => unknown, frame: Buffer, rand: Rand, plan: FuzzPlan, stats: FuzzStats, label: string): void {
  tryDecode(decode, frame, stats, `${label} valid frame`);
  for (let i = 0; i < plan.random; i++) {
    const bytes = randomBytes(rand, int(rand, 0, Math.min(512, frame.length * 2 + 16)));
    tryDecode(decode, bytes, stats, `${label} random bytes`);
  }
  if (frame.length <= plan.truncations) {
    for (let cut = 0; cut < frame.length; cut++) tryDecode(decode, frame.subarray(0, cut), stats, `${label} truncated at ${cut}`);
  } else {
    for (let i = 0; i < plan.truncations; i++) {
      const cut = i < plan.truncations / 2 ? Math.floor((i * frame.length) / (plan.truncations / 2)) : int(rand, 0, frame.length - 1);
      tryDecode(decode, frame.subarray(0, cut), stats, `${label} truncated at ${cut}`);
    }
  }
  if (frame.length === 0) return;
  for (let i = 0; i < plan.flips; i++) {
    const bytes = Buffer.from(frame);
    const n = int(rand, 1, 4);
    for (let k = 0; k < n; k++) bytes[int(rand, 0, bytes.length - 1)]! ^= 1 << int(rand, 0, 7);
    tryDecode(decode, bytes, stats, `${label} bit flips`);
  }
  for (let i = 0; i < plan.splices; i++) {
    const bytes = Buffer.from(frame);
    const at = int(rand, 0, bytes.length - 1);
    const len = int(rand, 1, Math.min(8, bytes.length - at));
    for (let k = 0; k < len; k++) bytes[at + k] = rand() < 0.3 ? 0xff : int(rand, 0, 255);
    tryDecode(decode, bytes, stats, `${label} splice`);
  }
}

export interface FuzzTarget {
  label: string;
  decode: (r: Reader) => unknown;
  /** A fresh valid frame for this target. */
  frame: (rand: Rand) => Buffer;
}

/** Every request (or also response) message and version, plus the request header auto-detection. */
export function fuzzTargets(includeResponses = false): FuzzTarget[] {
  const targets: FuzzTarget[] = [];
  for (const schema of messageSchemas) {
    if (schema.kind === 'data' || (schema.kind === 'response' && !includeResponses)) continue;
    for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
      targets.push({
        label: `${schema.name} v${version}`,
        decode: (r) => schema.decode(r, version),
        frame: (rand) => encodeToBuffer(schema, sampleMessage(schema, version, rand, { unknownTaggedFields: rand() < 0.5 }), version),
      });
    }
  }
  const header = messageSchemas.find((s) => s.name === 'RequestHeader')!;
  targets.push({
    label: 'decodeRequestHeader (auto-detect)',
    decode: (r) => decodeRequestHeader(r),
    frame: (rand) => {
      const value = sampleMessage(header, 2, rand);
      value['requestApiKey'] = int(rand, -1, 90);
      value['requestApiVersion'] = int(rand, -1, 20);
      return encodeToBuffer(header, value, int(rand, 1, 2));
    },
  });
  return targets;
}

// ---------------------------------------------------------------------------
// CLI

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1) + ' MiB';
}

function main(): void {
  const rounds = Number(arg('rounds') ?? 50);
  const seed = Number(arg('seed') ?? Date.now() % 1e9);
  const targets = fuzzTargets(process.argv.includes('--responses'));
  const plan: FuzzPlan = { random: 20, truncations: 64, flips: 40, splices: 20 };
  const gc = (globalThis as { gc?: () => void }).gc;
  const stats: FuzzStats = { decoded: 0, rejected: 0 };
  console.log(`fuzz: ${targets.length} targets, ${rounds} rounds, seed ${seed}${gc ? '' : ' (run with node --expose-gc for exact heap numbers)'}`);
  gc?.();
  const baseline = process.memoryUsage();
  let peakHeap = baseline.heapUsed;
  let peakRss = baseline.rss;
  const started = Date.now();
  for (let round = 0; round < rounds; round++) {
    const rand = makeRand(seedOf(String(round), seed));
    for (const t of targets) fuzzFrame(t.decode, t.frame(rand), rand, plan, stats, `${t.label} (seed ${seed}, round ${round})`);
    const mem = process.memoryUsage();
    peakHeap = Math.max(peakHeap, mem.heapUsed);
    peakRss = Math.max(peakRss, mem.rss);
    if ((round + 1) % Math.max(1, Math.floor(rounds / 10)) === 0 || round === rounds - 1) {
      console.log(
        `round ${round + 1}/${rounds}: ${stats.decoded + stats.rejected} inputs (${stats.rejected} rejected), heap ${mib(mem.heapUsed)}, rss ${mib(mem.rss)}`,
      );
    }
  }
  gc?.();
  const end = process.memoryUsage();
  const seconds = (Date.now() - started) / 1000;
  const total = stats.decoded + stats.rejected;
  console.log(`done: ${total} inputs in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s), no decoder threw anything but ProtocolError`);
  console.log(
    `memory: heap ${mib(baseline.heapUsed)} -> ${mib(end.heapUsed)} (peak ${mib(peakHeap)}), rss ${mib(baseline.rss)} -> ${mib(end.rss)} (peak ${mib(peakRss)})`,
  );
  const growth = end.heapUsed - baseline.heapUsed;
  if (gc && growth > 64 * 1048576) {
    console.error(`heap grew by ${mib(growth)} after GC: a leak?`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
