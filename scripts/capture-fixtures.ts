/**
 * Re-captures the golden fixtures: bytes that real Kafka clients put on the
 * wire, so the codec tests check us against them rather than against
 * ourselves.
 *
 *   npx tsx scripts/capture-fixtures.ts
 *
 *   npx tsx scripts/capture-fixtures.ts --verbose   # also lists every exchange
 *
 * What it does:
 *
 * 1. Binds a small TCP proxy on a free port, then starts a Ganglion broker on
 *    another free port whose `advertised.listeners` is the PROXY's address.
 *    Clients bootstrap to the proxy and every connection they open after
 *    reading Metadata goes through it too.
 * 2. The proxy splits both directions into Kafka frames; each request frame
 *    is paired with its response by correlation id and tagged with the client
 *    that opened the connection. Requests pass through untouched. Responses
 *    too, with one exception: while the broker advertises Produce from v3,
 *    the ApiVersions answer the CLIENT sees says Produce from v0, as Kafka 4.0
 *    says (KAFKA-18659), because librdkafka otherwise silently sends gzip,
 *    snappy and lz4 batches uncompressed (see kafka40ApiVersions). The
 *    fixtures always keep the broker's own bytes.
 * 3. Runs the real clients, one after the other, through the proxy:
 *      kcat                    -L, produce with -z none/gzip/snappy/lz4/zstd,
 *                              consume (checking what it reads back), and a
 *                              -G group consumer attempt
 *      confluent-kafka-python  produce per codec, consume (assign), admin
 *                              (create/describe/delete...), a subscribe attempt
 *      kafka-python            produce per codec, consume (no group), admin
 *      kafkajs                 producer per codec (our snappy/lz4/zstd
 *                              registered as its codec plugins), admin, Fetch
 *                              through its own broker connection (it has no
 *                              group-less consumer), a group consumer attempt
 *      platformatic-kafka      producer per codec with autocreateTopics (zstd
 *                              needs node:zlib zstd, Node >= 22.15: skipped on
 *                              older Node), admin
 *    The group attempts capture FindCoordinator, and JoinGroup, SyncGroup...
 *    once the broker serves groups. Best-effort steps (admin calls, groups)
 *    log a warning when they fail; a failing core step (produce, consume)
 *    aborts without writing anything. A client that is not installed is
 *    skipped with a warning.
 * 4. Deletes the previous capture and writes:
 *      test/fixtures/wire/<client>/<Api>-v<version>-<request|response>[-<n>].bin
 *          one frame (request or response header + body, WITHOUT the 4-byte
 *          size prefix) per distinct (client, API, version, direction) and,
 *          within that, per variant: Produce requests per codec, Fetch
 *          responses with and without records. `-<n>` numbers the 2nd, 3rd...
 *          variant. Requests are the client's bytes, responses the broker's.
 *      test/fixtures/wire/index.json
 *          every fixture with its client, API, version, direction, header
 *          version, variant and the client's software version.
 *      test/fixtures/records/<client>-<codec>.bin / .json
 *          the `records` field of the client's successful Produce(s) to the
 *          topic golden-<client>-<codec>, and the records we asked the client
 *          to send (recordsFor: fixed before the capture, never derived by
 *          decoding with our code). Not written when the client did not use
 *          the codec it was asked for.
 *
 * Needs kcat, Debian's /usr/bin/python3 with confluent_kafka and kafka
 * (kafka-python's snappy/lz4/zstd need python3-snappy, python3-lz4,
 * python3-zstandard), and the npm dev dependencies kafkajs and
 * @platformatic/kafka. Takes about a minute. Timestamps differ between runs,
 * so re-running changes the bytes but not the set of files (unless the
 * clients or the APIs the broker serves changed).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../src/broker/broker.js';
import { apiByKey, ApiKey } from '../src/protocol/messages/api-table.js';
import { requestHeaderVersion, responseHeaderVersion } from '../src/protocol/messages/headers.js';
import { Reader, Writer } from '../src/protocol/primitives.js';
import { CompressionType, compressAsync, compressionName, decompressAsync, scanBatches } from '../src/protocol/records/index.js';

const require = createRequire(import.meta.url);
const PYTHON = '/usr/bin/python3';
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
type Codec = (typeof CODECS)[number];

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the script');
    dir = parent;
  }
  return dir;
}

const ROOT = repoRoot();
const WIRE_DIR = join(ROOT, 'test', 'fixtures', 'wire');
const RECORDS_DIR = join(ROOT, 'test', 'fixtures', 'records');

// ---------------------------------------------------------------------------
// The records each client is asked to produce: the expected side of the
// record fixtures, fixed before anything is captured.

/** UTF-8 text, null, or binary as hex (the format of test/fixtures/records/README.md). */
type FixtureBytes = string | null | { hex: string };
interface RecordSpec {
  key: FixtureBytes;
  value: FixtureBytes;
  headers: { key: string; value: FixtureBytes }[];
}

const CLIENTS = ['kcat', 'confluent-kafka-python', 'kafka-python', 'kafkajs', 'platformatic-kafka'] as const;
type ClientName = (typeof CLIENTS)[number];

const topicFor = (client: ClientName, codec: Codec): string => `golden-${client}-${codec}`;

function recordsFor(client: ClientName, codec: Codec): RecordSpec[] {
  const tag = `${client}, ${codec}`;
  switch (client) {
    case 'kcat': {
      // kcat reads lines: the key is what precedes the first '|' (-K'|'), a
      // line without one has a null key, an empty value is sent as null (-Z);
      // -H headers go on every record.
      const headers = [
        { key: 'source', value: 'kcat' },
        { key: 'codec', value: codec },
      ];
      return [
        { key: 'kcat-1', value: `hello from ${tag} — ünïcödé ✓`, headers },
        { key: null, value: `a line without the key delimiter (${tag})`, headers },
        { key: 'kcat-3', value: null, headers },
        { key: 'kcat-4', value: 'ganglion '.repeat(120), headers },
      ];
    }
    case 'confluent-kafka-python':
      return [
        {
          key: 'confluent-1',
          value: `hello from ${tag} ✓`,
          headers: [
            { key: 'source', value: client },
            { key: 'codec', value: codec },
          ],
        },
        { key: null, value: { hex: '00ff10807f0d0a' }, headers: [{ key: 'bin', value: { hex: '00010203' } }] },
        { key: 'confluent-3', value: null, headers: [{ key: 'nullable', value: null }] },
        { key: 'confluent-4', value: 'confluent '.repeat(100), headers: [] },
      ];
    case 'kafka-python':
      return [
        {
          key: 'kafka-python-1',
          value: `hello from ${tag} ✓`,
          headers: [
            { key: 'source', value: client },
            { key: 'codec', value: codec },
          ],
        },
        { key: null, value: { hex: 'deadbeef00' }, headers: [{ key: 'bin', value: { hex: 'ff00' } }] },
        { key: 'kafka-python-3', value: null, headers: [] },
        { key: 'kafka-python-4', value: 'kafka-python '.repeat(80), headers: [] },
      ];
    case 'kafkajs':
      // kafkajs headers are an object; an array value becomes repeated headers.
      return [
        {
          key: 'kafkajs-1',
          value: `hello from ${tag} ✓`,
          headers: [
            { key: 'source', value: client },
            { key: 'codec', value: codec },
            { key: 'multi', value: 'a' },
            { key: 'multi', value: 'b' },
          ],
        },
        { key: null, value: { hex: '0001feff' }, headers: [] },
        { key: 'kafkajs-3', value: null, headers: [{ key: 'bin', value: { hex: 'c0ffee' } }] },
        { key: 'kafkajs-4', value: 'kafkajs '.repeat(120), headers: [] },
      ];
    case 'platformatic-kafka':
      return [
        {
          key: 'platformatic-1',
          value: `hello from ${tag} ✓`,
          headers: [
            { key: 'source', value: client },
            { key: 'codec', value: codec },
          ],
        },
        { key: null, value: { hex: '7f80' }, headers: [{ key: 'nullable', value: null }] },
        { key: 'platformatic-3', value: null, headers: [] },
        { key: 'platformatic-4', value: 'platformatic '.repeat(80), headers: [] },
      ];
  }
}

function toBuffer(bytes: FixtureBytes): Buffer | null {
  if (bytes === null) return null;
  return typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.hex, 'hex');
}

// ---------------------------------------------------------------------------
// The capturing proxy

interface Exchange {
  seq: number;
  client: ClientName;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  request: Buffer;
  response?: Buffer;
}

/** Splits a byte stream into Kafka frames (int32 size, then that many bytes). */
class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32BE(0);
      if (size < 0) throw new Error(`negative frame size ${size}`);
      if (this.pending.length < 4 + size) return;
      this.onFrame(Buffer.from(this.pending.subarray(4, 4 + size)));
      this.pending = this.pending.subarray(4 + size);
    }
  }
}

/** The client id of a request header v1/v2 (int16 length, then bytes), without our decoder. */
function peekClientId(frame: Buffer): string | null {
  if (frame.length < 10) return null;
  const length = frame.readInt16BE(8);
  return length < 0 ? null : frame.toString('utf8', 10, 10 + length);
}

class CaptureProxy {
  readonly exchanges: Exchange[] = [];
  /** The client whose run is in progress; new connections are tagged with it. */
  client: ClientName = 'kcat';
  private server = net.createServer((socket) => this.accept(socket));
  private sockets = new Set<net.Socket>();
  private seq = 0;
  private patchedProduceMin = false;
  brokerPort = 0;

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(downstream: net.Socket): void {
    const client = this.client;
    const upstream = net.connect(this.brokerPort, '127.0.0.1');
    this.sockets.add(downstream).add(upstream);
    const inFlight = new Map<number, Exchange>();
    const requests = new FrameSplitter((frame) => {
      const exchange: Exchange = {
        seq: this.seq++,
        client,
        apiKey: frame.readInt16BE(0),
        apiVersion: frame.readInt16BE(2),
        correlationId: frame.readInt32BE(4),
        clientId: peekClientId(frame),
        request: frame,
      };
      this.exchanges.push(exchange);
      inFlight.set(exchange.correlationId, exchange);
    });
    // Responses are forwarded frame by frame (so one can be patched, see
    // kafka40ApiVersions); the fixture keeps the broker's original bytes.
    const responses = new FrameSplitter((frame) => {
      const correlationId = frame.readInt32BE(0);
      const exchange = inFlight.get(correlationId);
      let forward = frame;
      if (exchange === undefined) {
        console.warn(`[proxy] response with unknown correlation id ${correlationId} (${client})`);
      } else {
        inFlight.delete(correlationId);
        exchange.response = frame;
        if (exchange.apiKey === ApiKey.ApiVersions) {
          try {
            forward = this.kafka40ApiVersions(frame, exchange.apiVersion);
          } catch (err) {
            console.warn(`[proxy] cannot read an ApiVersions v${exchange.apiVersion} response, forwarded as is: ${(err as Error).message}`);
          }
        }
      }
      const size = Buffer.alloc(4);
      size.writeInt32BE(forward.length);
      downstream.write(Buffer.concat([size, forward]));
    });
    downstream.on('data', (chunk) => {
      requests.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => responses.push(chunk));
    const close = (): void => {
      downstream.destroy();
      upstream.destroy();
      this.sockets.delete(downstream);
      this.sockets.delete(upstream);
    };
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    downstream.on('close', close);
    upstream.on('close', close);
    downstream.on('error', close);
    upstream.on('error', close);
  }

  /**
   * Kafka 4.0 rejects Produce v0-v2 but still ADVERTISES Produce from v0
   * (KAFKA-18659): librdkafka enables gzip/snappy/lz4 only when the broker's
   * Produce range overlaps v2 (its MsgVer1 feature, rdkafka_feature.c) and
   * otherwise sends those batches uncompressed (librdkafka issue #4956). When
   * the broker advertises a higher minimum, the client is shown what Kafka
   * 4.0 would advertise, so librdkafka really compresses. No-op once the
   * broker does this itself.
   */
  private kafka40ApiVersions(frame: Buffer, requestVersion: number): Buffer {
    if (frame.length < 6 || frame.readInt16BE(4) !== 0) return frame; // an error answer (v0)
    const api = apiByKey(ApiKey.ApiVersions);
    const body = api.decodeResponse(new Reader(frame, 4), requestVersion);
    const produce = body.apiKeys.find((k) => k.apiKey === ApiKey.Produce);
    if (produce === undefined || produce.minVersion === 0) return frame;
    if (!this.patchedProduceMin) {
      console.warn(`[proxy] broker advertises Produce from v${produce.minVersion}; showing clients v0 as Kafka 4.0 does (KAFKA-18659)`);
      this.patchedProduceMin = true;
    }
    produce.minVersion = 0;
    const w = new Writer();
    w.raw(frame.subarray(0, 4));
    api.encodeResponse(w, body, requestVersion);
    return w.toBuffer();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------
// Running the clients

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killing it after timeoutMs), feeding it stdin. */
function run(command: string, args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[capture] killed after ${options.timeoutMs ?? 30_000} ms`;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

async function mustRun(what: string, command: string, args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr.trim()}\n${result.stdout.trim()}`);
  }
  return result.stdout;
}

async function commandWorks(command: string, args: string[]): Promise<boolean> {
  try {
    return (await run(command, args, { timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  }
}

/** Software versions, for the index. */
const clientVersions: Partial<Record<ClientName, string>> = {};

async function runKcat(bootstrap: string): Promise<void> {
  const version = await run('kcat', ['-V']);
  clientVersions.kcat = /Version (\S+).*?(librdkafka \S+)/s.exec(version.stdout)?.slice(1, 3).join(' / ') ?? 'unknown';
  await mustRun('kcat -L', 'kcat', ['-b', bootstrap, '-L', '-m', '10']);
  for (const codec of CODECS) {
    const topic = topicFor('kcat', codec);
    const records = recordsFor('kcat', codec);
    const lines = records.map((r) => {
      const value = r.value === null ? '' : (r.value as string);
      return r.key === null ? value : `${r.key as string}|${value}`;
    });
    const headerArgs = records[0]!.headers.flatMap((h) => ['-H', `${h.key}=${h.value as string}`]);
    await mustRun(`kcat produce ${codec}`, 'kcat', [
      '-b', bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-K', '|', '-Z', ...headerArgs,
      '-X', 'linger.ms=200', '-m', '20',
    ], { stdin: lines.join('\n') + '\n' });
    const out = await mustRun(`kcat consume ${codec}`, 'kcat', [
      '-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-m', '20', '-f', '%K %S\n',
    ]);
    const want = records.map((r) => `${r.key === null ? -1 : Buffer.byteLength(r.key as string)} ${r.value === null ? -1 : Buffer.byteLength(r.value as string)}`);
    if (out.trim() !== want.join('\n')) {
      throw new Error(`kcat read back ${JSON.stringify(out)} from ${topic}, wanted key/value lengths ${JSON.stringify(want)}`);
    }
  }
  await mustRun('kcat -L -t', 'kcat', ['-b', bootstrap, '-L', '-t', topicFor('kcat', 'none'), '-J', '-m', '10']);
  // A balanced consumer (FindCoordinator, JoinGroup, SyncGroup, ... as far as
  // the broker serves groups); best effort, stopped after a few seconds.
  const group = await run(
    'kcat',
    ['-b', bootstrap, '-G', 'golden-kcat', topicFor('kcat', 'none'), '-o', 'beginning', '-e', '-q', '-X', 'session.timeout.ms=6000', '-c', '4'],
    { timeoutMs: 12_000 },
  );
  if (group.code !== 0) console.warn(`[capture] kcat group consumer did not finish (groups not served?) (continuing)`);
}

/** Python helpers shared by both python clients: decode the JSON record specs. */
const PY_PRELUDE = `
import json, sys
def b(x):
    if x is None: return None
    if isinstance(x, str): return x.encode('utf-8')
    return bytes.fromhex(x['hex'])
args = json.loads(sys.argv[1])
`;

const CONFLUENT_SCRIPT = `${PY_PRELUDE}
import confluent_kafka
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
bs = args['bootstrap']
if args['mode'] == 'version':
    print('confluent-kafka-python %s / librdkafka %s' % (confluent_kafka.version()[0], confluent_kafka.libversion()[0]))
elif args['mode'] == 'produce':
    p = Producer({'bootstrap.servers': bs, 'client.id': 'golden-confluent', 'compression.type': args['codec'], 'linger.ms': 200})
    errors = []
    def report(err, msg):
        if err is not None: errors.append(str(err))
    for r in args['records']:
        p.produce(args['topic'], key=b(r['key']), value=b(r['value']), partition=0,
                  headers=[(h['key'], b(h['value'])) for h in r['headers']], on_delivery=report)
    left = p.flush(20)
    if left or errors: sys.exit('not delivered: %d left, errors %s' % (left, errors))
elif args['mode'] == 'admin':
    # Best effort: each call is reported, none fails the run.
    from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
    a = AdminClient({'bootstrap.servers': bs, 'client.id': 'golden-confluent'})
    name = 'golden-confluent-admin'
    steps = [
        ('list_topics', lambda: a.list_topics(timeout=10)),
        ('create_topics', lambda: a.create_topics([NewTopic(name, 1, 1, config={'retention.ms': '3600000'})])[name].result(10)),
        ('create_partitions', lambda: a.create_partitions([NewPartitions(name, 2)])[name].result(10)),
        ('describe_configs', lambda: list(a.describe_configs([ConfigResource('topic', name)]).values())[0].result(10)),
        ('delete_topics', lambda: a.delete_topics([name])[name].result(10)),
    ]
    for what, step in steps:
        try: step()
        except Exception as e: print('%s: %s' % (what, e), file=sys.stderr)
elif args['mode'] == 'group':
    # Best effort: a subscribed consumer, as far as the broker serves groups.
    import time
    c = Consumer({'bootstrap.servers': bs, 'client.id': 'golden-confluent', 'group.id': 'golden-confluent-group',
                  'auto.offset.reset': 'earliest', 'session.timeout.ms': 6000})
    c.subscribe([args['topic']])
    got, deadline = 0, time.time() + 10
    while got < args['count'] and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error(): got += 1
    c.close()
    if got < args['count']: print('group consumer read %d of %d records' % (got, args['count']), file=sys.stderr)
else:
    c = Consumer({'bootstrap.servers': bs, 'client.id': 'golden-confluent', 'group.id': 'golden-confluent',
                  'enable.auto.commit': False, 'auto.offset.reset': 'earliest'})
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING) for t in args['topics']])
    got, want = 0, args['count']
    import time
    deadline = time.time() + 20
    while got < want and time.time() < deadline:
        m = c.poll(0.5)
        if m is None: continue
        if m.error(): sys.exit('consume error %s' % m.error())
        got += 1
    c.close()
    if got != want: sys.exit('consumed %d of %d' % (got, want))
`;

const KAFKA_PYTHON_SCRIPT = `${PY_PRELUDE}
import kafka
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
bs = args['bootstrap']
if args['mode'] == 'version':
    print('kafka-python %s' % kafka.__version__)
elif args['mode'] == 'produce':
    codec = None if args['codec'] == 'none' else args['codec']
    p = KafkaProducer(bootstrap_servers=bs, client_id='golden-kafka-python', compression_type=codec, linger_ms=200)
    futures = [p.send(args['topic'], key=b(r['key']), value=b(r['value']), partition=0,
                      headers=[(h['key'], b(h['value'])) for h in r['headers']]) for r in args['records']]
    p.flush(20)
    for f in futures: f.get(timeout=20)
    p.close(10)
elif args['mode'] == 'admin':
    # Best effort: each call is reported, none fails the run.
    from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, ConfigResourceType
    a = KafkaAdminClient(bootstrap_servers=bs, client_id='golden-kafka-python')
    name = 'golden-kafka-python-admin'
    steps = [
        ('create_topics', lambda: a.create_topics([NewTopic(name, 1, 1, topic_configs={'retention.ms': '3600000'})])),
        ('create_partitions', lambda: a.create_partitions({name: NewPartitions(2)})),
        ('describe_configs', lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])),
        ('delete_topics', lambda: a.delete_topics([name])),
    ]
    for what, step in steps:
        try: step()
        except Exception as e: print('%s: %s' % (what, e), file=sys.stderr)
    a.close()
else:
    c = KafkaConsumer(bootstrap_servers=bs, client_id='golden-kafka-python', group_id=None,
                      enable_auto_commit=False, auto_offset_reset='earliest', consumer_timeout_ms=5000)
    parts = [TopicPartition(t, 0) for t in args['topics']]
    c.assign(parts)
    c.seek_to_beginning(*parts)
    got = sum(1 for _ in c)
    c.close()
    if got != args['count']: sys.exit('consumed %d of %d' % (got, args['count']))
`;

async function runPythonClient(client: 'confluent-kafka-python' | 'kafka-python', script: string, bootstrap: string): Promise<void> {
  const py = (args: object, timeoutMs = 40_000): Promise<string> =>
    mustRun(`${client} ${(args as { mode: string }).mode}`, PYTHON, ['-c', script, JSON.stringify({ bootstrap, ...args })], { timeoutMs });
  clientVersions[client] = (await py({ mode: 'version' })).trim();
  const topics: string[] = [];
  let count = 0;
  for (const codec of CODECS) {
    const topic = topicFor(client, codec);
    const records = recordsFor(client, codec);
    await py({ mode: 'produce', codec, topic, records });
    topics.push(topic);
    count += records.length;
  }
  await py({ mode: 'consume', topics, count });
  const admin = await run(PYTHON, ['-c', script, JSON.stringify({ bootstrap, mode: 'admin' })], { timeoutMs: 60_000 });
  for (const line of admin.stderr.trim().split('\n').filter((l) => l !== '')) console.warn(`[capture] ${client} admin ${line} (continuing)`);
  if (client === 'confluent-kafka-python') {
    const topic = topicFor(client, 'none');
    const group = await run(PYTHON, ['-c', script, JSON.stringify({ bootstrap, mode: 'group', topic, count: recordsFor(client, 'none').length })], {
      timeoutMs: 30_000,
    });
    if (group.stderr.trim() !== '') console.warn(`[capture] ${client} ${group.stderr.trim().split('\n').pop()} (continuing)`);
  }
}

// kafkajs ships gzip only; snappy, lz4 and zstd are plugins in its codec
// registry, so we plug in ours (as test/protocol/records/kafkajs-interop.test.ts does).
const KAFKAJS_CODEC: Record<Codec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

function kafkajsHeaders(spec: RecordSpec): Record<string, Buffer | Buffer[]> {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const h of spec.headers) {
    const value = toBuffer(h.value);
    if (value === null) throw new Error('kafkajs cannot send a null header value');
    const existing = headers[h.key];
    headers[h.key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return headers;
}

async function runKafkajs(bootstrap: string): Promise<void> {
  const kafkajs = require('kafkajs') as typeof import('kafkajs');
  clientVersions.kafkajs = `kafkajs ${(require('kafkajs/package.json') as { version: string }).version}`;
  for (const type of [CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
    (kafkajs.CompressionCodecs as Record<number, unknown>)[type] = () => ({
      compress: (encoder: { buffer: Buffer }) => compressAsync(type, encoder.buffer),
      decompress: (buffer: Buffer) => decompressAsync(type, buffer),
    });
  }
  const kafka = new kafkajs.Kafka({
    clientId: 'golden-kafkajs',
    brokers: [bootstrap],
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });

  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
  await producer.connect();
  for (const codec of CODECS) {
    await producer.send({
      topic: topicFor('kafkajs', codec),
      compression: KAFKAJS_CODEC[codec],
      acks: -1,
      messages: recordsFor('kafkajs', codec).map((r) => ({
        partition: 0,
        key: toBuffer(r.key),
        value: toBuffer(r.value),
        headers: kafkajsHeaders(r),
      })),
    });
  }
  await producer.disconnect();

  const admin = kafka.admin();
  await admin.connect();
  await admin.listTopics();
  await admin.fetchTopicOffsets(topicFor('kafkajs', 'none'));
  await admin.fetchTopicMetadata({ topics: [topicFor('kafkajs', 'gzip')] });
  await optional('kafkajs admin.describeCluster', () => admin.describeCluster());
  const adminTopic = 'golden-kafkajs-admin';
  await optional('kafkajs admin.createTopics', () => admin.createTopics({ topics: [{ topic: adminTopic, numPartitions: 1 }] }));
  await optional('kafkajs admin.createPartitions', () => admin.createPartitions({ topicPartitions: [{ topic: adminTopic, count: 2 }] }));
  await optional('kafkajs admin.describeConfigs', () =>
    admin.describeConfigs({ resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: adminTopic }], includeSynonyms: true }),
  );
  await optional('kafkajs admin.deleteTopics', () => admin.deleteTopics({ topics: [adminTopic] }));
  await admin.disconnect();

  // kafkajs only consumes in a group. Its own Fetch request, sent on its own
  // broker connection, needs no group: reach it through the client's cluster.
  const createCluster = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (createCluster === undefined) throw new Error('kafkajs internals changed: no createCluster symbol');
  const cluster = (kafka as unknown as Record<symbol, (o: object) => any>)[createCluster]!({});
  await cluster.connect();
  const topics = CODECS.map((codec) => topicFor('kafkajs', codec));
  for (const topic of topics) await cluster.addTargetTopic(topic);
  const leader = cluster.findTopicPartitionMetadata(topics[0])[0].leader;
  const broker = await cluster.findBroker({ nodeId: String(leader) });
  const fetched = await broker.fetch({
    replicaId: -1,
    isolationLevel: 1,
    maxWaitTime: 100,
    topics: topics.map((topic) => ({ topic, partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 1 << 20 }] })),
  });
  const fetchedRecords = fetched.responses.flatMap((t: any) => t.partitions.flatMap((p: any) => p.messages));
  const wanted = CODECS.reduce((n, codec) => n + recordsFor('kafkajs', codec).length, 0);
  if (fetchedRecords.length !== wanted) throw new Error(`kafkajs fetched ${fetchedRecords.length} records, wanted ${wanted}`);
  await cluster.disconnect();

  // A group consumer starts with FindCoordinator; JoinGroup and the rest are
  // captured only when the broker serves groups.
  const consumer = kafka.consumer({ groupId: 'golden-kafkajs', retry: { retries: 0 }, sessionTimeout: 6000, heartbeatInterval: 500 });
  await optional('kafkajs group consumer', async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [topicFor('kafkajs', 'none')], fromBeginning: true });
    let seen = 0;
    const done = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (e: { payload: { error: Error } }) => reject(e.payload.error));
      void consumer
        .run({
          eachMessage: async () => {
            if (++seen === recordsFor('kafkajs', 'none').length) resolve();
          },
        })
        .catch(reject);
    });
    await withTimeout(done, 10_000, 'kafkajs group consumer');
  });
  await consumer.disconnect().catch(() => {});
}

async function runPlatformatic(bootstrap: string): Promise<void> {
  const plt = (await import('@platformatic/kafka')) as any;
  // The package's exports map hides package.json, so read it from node_modules.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', '@platformatic', 'kafka', 'package.json'), 'utf8')) as { version: string };
  clientVersions['platformatic-kafka'] = `@platformatic/kafka ${pkg.version}`;
  const codecs = CODECS.filter((codec) => codec !== 'zstd' || plt.compressionsAlgorithms?.zstd?.available === true);
  if (codecs.length < CODECS.length) console.warn('[capture] platformatic-kafka: no zstd on this Node (needs node:zlib zstd), skipped');
  const producer = new plt.Producer({ clientId: 'golden-platformatic', bootstrapBrokers: [bootstrap], autocreateTopics: true, idempotent: false });
  try {
    for (const codec of codecs) {
      await producer.send({
        compression: codec,
        acks: -1,
        messages: recordsFor('platformatic-kafka', codec).map((r) => ({
          topic: topicFor('platformatic-kafka', codec),
          partition: 0,
          key: toBuffer(r.key) ?? undefined,
          value: toBuffer(r.value) ?? undefined,
          headers: new Map(r.headers.map((h) => [Buffer.from(h.key), toBuffer(h.value)])),
        })),
      });
    }
  } finally {
    await producer.close();
  }
  const admin = new plt.Admin({ clientId: 'golden-platformatic', bootstrapBrokers: [bootstrap] });
  try {
    await optional('platformatic-kafka admin.listTopics', () => admin.listTopics());
    await optional('platformatic-kafka admin.metadata', () => admin.metadata({ topics: [topicFor('platformatic-kafka', 'none')] }));
    const adminTopic = 'golden-platformatic-admin';
    await optional('platformatic-kafka admin.createTopics', () => admin.createTopics({ topics: [adminTopic], partitions: 1, replicas: 1 }));
    await optional('platformatic-kafka admin.createPartitions', () =>
      admin.createPartitions({ topics: [{ name: adminTopic, count: 2 }] }),
    );
    await optional('platformatic-kafka admin.describeConfigs', () =>
      admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: adminTopic }] }),
    );
    await optional('platformatic-kafka admin.deleteTopics', () => admin.deleteTopics({ topics: [adminTopic] }));
  } finally {
    await admin.close();
  }
}

async function optional(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.warn(`[capture] ${what}: ${(err as Error).message} (continuing)`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Choosing and writing fixtures

interface IndexEntry {
  file: string;
  client: ClientName;
  clientId: string | null;
  api: string;
  apiKey: number;
  version: number;
  direction: 'request' | 'response';
  headerVersion: number;
  variant: string;
  correlationId: number;
  size: number;
}

/** Produce requests: one per codec; Fetch responses: with and without records. */
function variantOf(e: Exchange, direction: 'request' | 'response', frame: Buffer, headerVersion: number): string {
  try {
    if (e.apiKey === ApiKey.Produce && direction === 'request') {
      const r = new Reader(frame);
      skipRequestHeader(r, headerVersion);
      const request = apiByKey(ApiKey.Produce).decodeRequest(r, e.apiVersion);
      const codecs = new Set<string>();
      for (const t of request.topicData) {
        for (const p of t.partitionData) {
          if (p.records !== null) for (const b of scanBatches(p.records).batches) codecs.add(compressionName(b.compression));
        }
      }
      return [...codecs].sort().join('+') || 'empty';
    }
    if (e.apiKey === ApiKey.Fetch && direction === 'response') {
      const r = new Reader(frame);
      r.skip(headerVersion === 0 ? 4 : 5); // correlation id (+ empty tagged fields)
      const response = apiByKey(ApiKey.Fetch).decodeResponse(r, e.apiVersion);
      const withRecords = response.responses.some((t) => t.partitions.some((p) => (p.records?.length ?? 0) > 0));
      return withRecords ? 'records' : 'empty';
    }
  } catch (err) {
    console.warn(`[capture] cannot classify ${e.client} api ${e.apiKey} v${e.apiVersion} ${direction}: ${(err as Error).message}`);
  }
  return '';
}

function skipRequestHeader(r: Reader, headerVersion: number): void {
  r.skip(8);
  if (headerVersion >= 1) r.nullableString();
  if (headerVersion >= 2) r.taggedFields();
}

/**
 * The version a response is encoded in: the request's, except that a broker
 * answers an ApiVersions request it cannot serve with UNSUPPORTED_VERSION in v0.
 */
function responseVersion(e: Exchange, response: Buffer): number {
  if (e.apiKey === ApiKey.ApiVersions && response.length >= 6 && response.readInt16BE(4) === 35) return 0;
  return e.apiVersion;
}

function writeWireFixtures(exchanges: Exchange[]): IndexEntry[] {
  rmSync(WIRE_DIR, { recursive: true, force: true });
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  const entries: IndexEntry[] = [];
  for (const e of exchanges) {
    const api = apiByKey(e.apiKey);
    if (api === undefined) {
      console.warn(`[capture] ${e.client} sent unknown API key ${e.apiKey}; not kept`);
      continue;
    }
    const frames: ['request' | 'response', Buffer, number, number][] = [
      ['request', e.request, e.apiVersion, requestHeaderVersion(e.apiKey, e.apiVersion)],
    ];
    if (e.response !== undefined) {
      const version = responseVersion(e, e.response);
      frames.push(['response', e.response, version, responseHeaderVersion(e.apiKey, version)]);
    }
    for (const [direction, frame, version, headerVersion] of frames) {
      const variant = variantOf(e, direction, frame, headerVersion);
      const base = `${api.name}-v${version}-${direction}`;
      const key = `${e.client}/${base}/${variant}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const n = (counts.get(`${e.client}/${base}`) ?? 0) + 1;
      counts.set(`${e.client}/${base}`, n);
      const file = `${e.client}/${base}${n === 1 ? '' : `-${n}`}.bin`;
      mkdirSync(join(WIRE_DIR, e.client), { recursive: true });
      writeFileSync(join(WIRE_DIR, file), frame);
      entries.push({
        file,
        client: e.client,
        clientId: e.clientId,
        api: api.name,
        apiKey: e.apiKey,
        version,
        direction,
        headerVersion,
        variant,
        correlationId: e.correlationId,
        size: frame.length,
      });
    }
  }
  const index = {
    description:
      'Kafka frames captured from real clients by scripts/capture-fixtures.ts (through a proxy in front of a Ganglion broker). ' +
      'Each .bin is one frame without its 4-byte size prefix: request header + body, or response header + body. ' +
      'Requests are the clients\' bytes; responses are Ganglion\'s answers to them (for ApiVersions, before the proxy ' +
      'showed the client Produce from v0, see kafka40ApiVersions in the script).',
    clients: clientVersions,
    fixtures: entries,
  };
  writeFileSync(join(WIRE_DIR, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  return entries;
}

function writeRecordFixtures(exchanges: Exchange[]): string[] {
  for (const f of readdirSync(RECORDS_DIR)) {
    if (/\.(bin|json)$/.test(f) && CLIENTS.some((c) => f.startsWith(`${c}-`))) rmSync(join(RECORDS_DIR, f));
  }
  const produce = apiByKey(ApiKey.Produce);
  const written: string[] = [];
  for (const client of CLIENTS) {
    for (const codec of CODECS) {
      const topic = topicFor(client, codec);
      // Every successful Produce to the topic, in order (normally one).
      const parts: Buffer[] = [];
      for (const e of exchanges) {
        if (e.client !== client || e.apiKey !== ApiKey.Produce || e.response === undefined) continue;
        const hv = requestHeaderVersion(e.apiKey, e.apiVersion);
        const rr = new Reader(e.request);
        skipRequestHeader(rr, hv);
        const request = produce.decodeRequest(rr, e.apiVersion);
        const rs = new Reader(e.response);
        rs.skip(responseHeaderVersion(e.apiKey, e.apiVersion) === 0 ? 4 : 5);
        const response = produce.decodeResponse(rs, e.apiVersion);
        const ok = response.responses.some(
          (t) => t.name === topic && t.partitionResponses.some((p) => p.index === 0 && p.errorCode === 0),
        );
        const data = request.topicData.find((t) => t.name === topic)?.partitionData.find((p) => p.index === 0)?.records;
        if (ok && data != null) parts.push(data);
      }
      if (parts.length === 0) continue;
      const records = Buffer.concat(parts);
      const name = `${client}-${codec}`;
      const sent = [...new Set(scanBatches(records).batches.map((b) => compressionName(b.compression)))];
      if (sent.length !== 1 || sent[0] !== codec) {
        // librdkafka silently falls back to no compression for a codec it
        // thinks the broker lacks (LZ4 needs FindCoordinator v0 advertised).
        console.warn(`[capture] ${name}: asked for ${codec}, the client sent ${sent.join('+')}: no record fixture written`);
        continue;
      }
      const specs = recordsFor(client, codec);
      const fixture = {
        description: `${clientVersions[client] ?? client}, compression ${codec}, ${specs.length} records (captured by scripts/capture-fixtures.ts)`,
        codec,
        records: specs.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      };
      writeFileSync(join(RECORDS_DIR, `${name}.bin`), records);
      writeFileSync(join(RECORDS_DIR, `${name}.json`), JSON.stringify(fixture, null, 2) + '\n');
      written.push(name);
    }
  }
  return written;
}

/** One line per exchange, for --verbose: API, version, and for Produce the batches per topic. */
function describeExchange(e: Exchange): string {
  let detail = '';
  if (e.apiKey === ApiKey.Produce) {
    try {
      const r = new Reader(e.request);
      skipRequestHeader(r, requestHeaderVersion(e.apiKey, e.apiVersion));
      const request = apiByKey(ApiKey.Produce).decodeRequest(r, e.apiVersion);
      detail = request.topicData
        .map((t) => {
          const parts = t.partitionData.map((p) => {
            const batches = p.records === null ? [] : scanBatches(p.records).batches;
            return `p${p.index}[${batches.map((b) => `${compressionName(b.compression)}x${b.recordsCount}`).join(' ')}]`;
          });
          return `${t.name} ${parts.join(' ')}`;
        })
        .join(', ');
      if (e.response !== undefined) {
        const rs = new Reader(e.response);
        rs.skip(responseHeaderVersion(e.apiKey, e.apiVersion) === 0 ? 4 : 5);
        const response = apiByKey(ApiKey.Produce).decodeResponse(rs, e.apiVersion);
        detail += ' -> ' + response.responses.map((t) => t.partitionResponses.map((p) => `error ${p.errorCode}`).join(' ')).join(', ');
      }
    } catch (err) {
      detail = `(undecodable: ${(err as Error).message})`;
    }
  }
  const name = apiByKey(e.apiKey)?.name ?? `api ${e.apiKey}`;
  return `[capture] #${e.seq} ${e.client} ${name} v${e.apiVersion}${e.response === undefined ? ' (no response)' : ''} ${detail}`;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const proxy = new CaptureProxy();
  const proxyPort = await proxy.listen();
  const logDir = mkdtempSync(join(tmpdir(), 'ganglion-capture-'));
  const broker = await startBroker({
    logLevel: 'silent',
    config: {
      'log.dirs': logDir,
      listeners: 'PLAINTEXT://127.0.0.1:0',
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}`,
      'num.partitions': 1,
      'auto.create.topics.enable': true,
    },
  });
  proxy.brokerPort = broker.listeners[0]!.port;
  const bootstrap = `127.0.0.1:${proxyPort}`;
  console.log(`[capture] broker on ${broker.listeners[0]!.port}, proxy on ${proxyPort}`);

  const steps: [ClientName, () => Promise<boolean>, () => Promise<void>][] = [
    ['kcat', () => commandWorks('kcat', ['-V']), () => runKcat(bootstrap)],
    [
      'confluent-kafka-python',
      () => commandWorks(PYTHON, ['-c', 'import confluent_kafka']),
      () => runPythonClient('confluent-kafka-python', CONFLUENT_SCRIPT, bootstrap),
    ],
    [
      'kafka-python',
      () => commandWorks(PYTHON, ['-c', 'import kafka, snappy, lz4.frame, zstandard']),
      () => runPythonClient('kafka-python', KAFKA_PYTHON_SCRIPT, bootstrap),
    ],
    ['kafkajs', async () => true, () => runKafkajs(bootstrap)],
    ['platformatic-kafka', async () => true, () => runPlatformatic(bootstrap)],
  ];
  let failed = false;
  try {
    for (const [client, available, go] of steps) {
      if (!(await available())) {
        console.warn(`[capture] ${client} is not installed: skipped`);
        continue;
      }
      proxy.client = client;
      const before = proxy.exchanges.length;
      try {
        await go();
      } catch (err) {
        failed = true;
        console.error(`[capture] ${client} failed: ${(err as Error).message}`);
      }
      // Let the last responses and disconnects pass through the proxy.
      await new Promise((resolve) => setTimeout(resolve, 300));
      console.log(`[capture] ${client}: ${proxy.exchanges.length - before} requests`);
    }
  } finally {
    await proxy.close();
    await broker.close();
    rmSync(logDir, { recursive: true, force: true });
  }
  if (failed) {
    console.error('[capture] a client failed: fixtures NOT written');
    process.exitCode = 1;
    return;
  }

  const entries = writeWireFixtures(proxy.exchanges);
  const records = writeRecordFixtures(proxy.exchanges);
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  const perClient = CLIENTS.map((c) => `${c} ${entries.filter((e) => e.client === c).length}`).join(', ');
  console.log(`[capture] ${entries.length} wire fixtures (${bytes} bytes): ${perClient}`);
  console.log(`[capture] ${records.length} record fixtures: ${records.join(', ')}`);
  if (process.argv.includes('--verbose')) for (const e of proxy.exchanges) console.log(describeExchange(e));
  const unanswered = proxy.exchanges.filter((e) => e.response === undefined);
  for (const e of unanswered) {
    console.log(`[capture] no response to ${e.client} ${apiByKey(e.apiKey)?.name ?? e.apiKey} v${e.apiVersion}`);
  }
}

await main();
