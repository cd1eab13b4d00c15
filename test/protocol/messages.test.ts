import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer, ZERO_UUID } from '../../src/protocol/primitives.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import {
  ApiKey,
  apiByKey,
  apis,
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeDescribeTopicPartitionsRequest,
  decodeFetchRequest,
  decodeMetadataRequest,
  decodeProduceRequest,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
  encodeDescribeTopicPartitionsRequest,
  encodeFetchRequest,
  encodeMetadataRequest,
  encodeProduceRequest,
  encodeProduceResponse,
  encodeRequestHeader,
  encodeResponseHeader,
  messageSchemas,
  requestHeaderVersion,
  responseHeaderVersion,
  structDefault,
  type MessageSchema,
  type ProduceRequest,
} from '../../src/protocol/messages/index.js';
import { encodeToBuffer, isFlexible, makeRand, sampleMessage, seedOf } from '../../scripts/fuzz.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

function encodeWith<T>(encode: (w: Writer, m: T, version: number) => void, m: T, version: number): Buffer {
  const w = new Writer();
  encode(w, m, version);
  return w.toBuffer();
}

function decodeAll<T>(decode: (r: Reader, version: number) => T, bytes: Buffer, version: number): T {
  const r = new Reader(bytes);
  const value = decode(r, version);
  assert.equal(r.remaining, 0, 'the decoder consumed the whole frame');
  return value;
}

/** encode -> decode -> deep-equal, then decode -> encode byte-exact. */
function roundTrip(schema: MessageSchema, value: unknown, version: number): void {
  const label = `${schema.name} v${version}`;
  const bytes = encodeToBuffer(schema, value, version);
  const decoded = decodeAll((r, v) => schema.decode(r, v), bytes, version);
  assert.deepStrictEqual(decoded, value, `${label}: decode(encode(x)) equals x`);
  const again = encodeToBuffer(schema, decoded, version);
  assert.ok(again.equals(bytes), `${label}: encode(decode(bytes)) is byte-exact`);
}

test('the tables cover every API key 0-87 and every spec', () => {
  assert.equal(apis.length, 88);
  apis.forEach((api, i) => {
    assert.equal(api.apiKey, i);
    assert.equal(apiByKey(i), api);
    assert.ok(api.minVersion <= api.maxVersion);
    assert.equal(api.brokerFacing, api.listeners.includes('broker') || api.listeners.includes('zkBroker'));
  });
  assert.equal(apiByKey(88), undefined);
  assert.equal(apiByKey(-1), undefined);
  assert.equal(apiByKey(1.5), undefined);
  const produce = apiByKey(ApiKey.Produce);
  assert.equal(produce.name, 'Produce');
  assert.equal(produce.flexibleFrom, 9);
  assert.equal(apiByKey(ApiKey.SaslHandshake).flexibleFrom, null);
  assert.equal(apiByKey(ApiKey.Vote).brokerFacing, false);
  assert.equal(ApiKey.ApiVersions, 18);
  assert.equal(ApiKey.ReadShareGroupStateSummary, 87);
  assert.equal(messageSchemas.filter((s) => s.kind === 'request').length, 88);
  assert.equal(messageSchemas.filter((s) => s.kind === 'response').length, 88);
  assert.deepEqual(messageSchemas.filter((s) => s.kind === 'header').map((s) => s.name), ['RequestHeader', 'ResponseHeader']);
  for (const name of ['ConsumerProtocolSubscription', 'ConsumerProtocolAssignment', 'LeaderChangeMessage', 'VotersRecord']) {
    assert.ok(messageSchemas.some((s) => s.kind === 'data' && s.name === name), name);
  }
});

test('every message, every version: random values round-trip', () => {
  let cases = 0;
  for (const schema of messageSchemas) {
    for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
      for (let i = 0; i < 3; i++) {
        const rand = makeRand(seedOf(`${schema.name}/${version}/${i}`));
        roundTrip(schema, sampleMessage(schema, version, rand, { nullChance: i === 2 ? 0.6 : 0.15 }), version);
        cases++;
      }
    }
  }
  assert.ok(cases > 900);
});

test('every flexible message version: unknown tagged fields survive decode -> encode byte-exactly', () => {
  let cases = 0;
  for (const schema of messageSchemas) {
    for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
      if (!isFlexible(schema, version)) continue;
      const rand = makeRand(seedOf(`${schema.name}/${version}/unknown`));
      const value = sampleMessage(schema, version, rand, { unknownTaggedFields: true });
      assert.ok(Array.isArray(value['_unknownTaggedFields']));
      roundTrip(schema, value, version);
      cases++;
    }
  }
  assert.ok(cases > 200);
});

test('every message, every version: a value with only the required fields encodes and decodes to defaults', () => {
  for (const schema of messageSchemas) {
    for (let version = schema.minVersion; version <= schema.maxVersion; version++) {
      // Required fields are those present in every version; give them their defaults too.
      const full = structDefault(schema);
      const minimal: Record<string, unknown> = {};
      for (const f of schema.fields) {
        if (f.versions[0] <= schema.minVersion && f.versions[1] >= schema.maxVersion) minimal[f.name] = full[f.name];
      }
      const bytes = encodeToBuffer(schema, minimal, version);
      const decoded = decodeAll((r, v) => schema.decode(r, v), bytes, version);
      assert.deepStrictEqual(decoded, full, `${schema.name} v${version}`);
    }
  }
});

test('unsupported versions are refused with ProtocolError', () => {
  assert.throws(() => encodeWith(encodeProduceRequest, { acks: 1, timeoutMs: 1, topicData: [] }, 12), ProtocolError);
  assert.throws(() => decodeProduceRequest(new Reader(Buffer.alloc(64)), -1), ProtocolError);
  assert.throws(() => decodeProduceRequest(new Reader(Buffer.alloc(64)), 1.5), ProtocolError);
});

test('ApiVersions v3 request: known bytes', () => {
  const m = { clientSoftwareName: 'ganglion', clientSoftwareVersion: '0.1.0' };
  const bytes = encodeWith(encodeApiVersionsRequest, m, 3);
  assert.equal(bytes.toString('hex'), '09' + ascii('ganglion') + '06' + ascii('0.1.0') + '00');
  assert.deepEqual(decodeAll(decodeApiVersionsRequest, bytes, 3), m);
  // v0-v2 have no body; the (ignorable) client software fields are dropped.
  assert.equal(encodeWith(encodeApiVersionsRequest, m, 2).length, 0);
  assert.deepEqual(decodeAll(decodeApiVersionsRequest, Buffer.alloc(0), 0), { clientSoftwareName: '', clientSoftwareVersion: '' });
});

test('Metadata v12 request with a null topics array: known bytes', () => {
  const m = { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false };
  const bytes = encodeWith(encodeMetadataRequest, m, 12);
  assert.equal(bytes.toString('hex'), '00' + '01' + '00' + '00');
  assert.deepEqual(decodeAll(decodeMetadataRequest, bytes, 12), { ...m, includeClusterAuthorizedOperations: false });
  // v1 writes null as -1; v0 cannot express null.
  assert.equal(encodeWith(encodeMetadataRequest, { topics: null }, 1).toString('hex'), 'ffffffff');
  assert.throws(() => encodeWith(encodeMetadataRequest, { topics: null }, 0), ProtocolError);
  assert.throws(() => decodeMetadataRequest(new Reader(hex('ffffffff')), 0), ProtocolError);
  // v10+ topic names are nullable, before that they are not.
  const topic = { topicId: ZERO_UUID, name: null };
  assert.equal(encodeWith(encodeMetadataRequest, { topics: [topic] }, 10).toString('hex'), '02' + '00'.repeat(16) + '00' + '00' + '01' + '00' + '00' + '00');
  assert.throws(() => encodeWith(encodeMetadataRequest, { topics: [topic] }, 9), ProtocolError);
});

test('Produce v3 request (classic encoding): known bytes, records are views', () => {
  const records = hex('aabbcc');
  const m: ProduceRequest = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
  };
  const bytes = encodeWith(encodeProduceRequest, m, 3);
  assert.equal(bytes.toString('hex'), 'ffff' + 'ffff' + '00007530' + '00000001' + '000174' + '00000001' + '00000000' + '00000003aabbcc');
  const decoded = decodeAll(decodeProduceRequest, bytes, 3);
  assert.deepEqual(decoded, m);
  const view = decoded.topicData[0]!.partitionData[0]!.records!;
  assert.equal(view.buffer, bytes.buffer, 'records are a view into the frame, not a copy');
  // Non-ignorable field absent from the version: refused.
  assert.throws(() => encodeWith(encodeProduceRequest, { ...m, transactionalId: 'tx' }, 2), ProtocolError);
  assert.equal(encodeWith(encodeProduceRequest, { ...m, transactionalId: null }, 2).length, bytes.length - 2);
});

test('large records are referenced by the Writer, not copied', () => {
  const records = Buffer.alloc(64 * 1024, 1);
  const m: ProduceRequest = { acks: 1, timeoutMs: 1000, topicData: [{ name: 'big', partitionData: [{ index: 3, records }] }] };
  for (const version of [3, 9]) {
    const w = new Writer();
    encodeProduceRequest(w, m, version);
    assert.ok(w.toChunks().includes(records), `v${version}`);
    assert.deepEqual(decodeProduceRequest(new Reader(w.toBuffer()), version).topicData[0]!.partitionData[0]!.records, records);
  }
});

test('tagged fields in a flexible version: known bytes, written only when not default', () => {
  // ApiVersions v3 response, FinalizedFeaturesEpoch (tag 1, default -1) set to 5.
  const m = { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0, finalizedFeaturesEpoch: 5n };
  const bytes = encodeWith(encodeApiVersionsResponse, m, 3);
  assert.equal(bytes.toString('hex'), '0000' + '02' + '0012' + '0000' + '0004' + '00' + '00000000' + '01' + '01' + '08' + '0000000000000005');
  assert.deepEqual(decodeAll(decodeApiVersionsResponse, bytes, 3), {
    ...m,
    supportedFeatures: [],
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  // At the default, no tagged field is written.
  const plain = encodeWith(encodeApiVersionsResponse, { ...m, finalizedFeaturesEpoch: -1n }, 3);
  assert.equal(plain.toString('hex'), '0000' + '02' + '0012' + '0000' + '0004' + '00' + '00000000' + '00');
  // Tagged fields go out in tag order, merged with unknown ones.
  const merged = encodeWith(
    encodeApiVersionsResponse,
    { ...m, zkMigrationReady: true, _unknownTaggedFields: [{ tag: 9, data: hex('ee') }, { tag: 4, data: hex('') }] },
    3,
  );
  assert.ok(merged.toString('hex').endsWith('04' + '01' + '08' + '0000000000000005' + '03' + '01' + '01' + '04' + '00' + '09' + '01' + 'ee'));
  // Ignorable tagged fields are dropped in versions without them.
  assert.equal(encodeWith(encodeApiVersionsResponse, m, 2).toString('hex'), '0000' + '00000001' + '0012' + '0000' + '0004' + '00000000');
  // A tag given twice is refused.
  assert.throws(() => encodeWith(encodeApiVersionsResponse, { ...m, _unknownTaggedFields: [{ tag: 1, data: hex('') }] }, 3), ProtocolError);
  // Unknown tagged fields cannot be written in a non-flexible version.
  assert.throws(() => encodeWith(encodeApiVersionsResponse, { ...m, _unknownTaggedFields: [{ tag: 7, data: hex('') }] }, 2), ProtocolError);
});

test('a tagged field in a request: Fetch v12 ClusterId', () => {
  const m = { clusterId: 'c', maxWaitMs: 500, minBytes: 1, topics: [] };
  const bytes = encodeWith(encodeFetchRequest, m, 12);
  assert.ok(bytes.toString('hex').endsWith('01' + '00' + '02' + '02' + ascii('c')));
  const decoded = decodeAll(decodeFetchRequest, bytes, 12);
  assert.equal(decoded.clusterId, 'c');
  assert.equal(decoded.replicaId, -1);
  assert.equal(decoded.maxBytes, 0x7fffffff);
  // A known tag whose declared size does not match its content is refused.
  const bad = Buffer.concat([bytes.subarray(0, bytes.length - 4), hex('00' + '03' + '02' + ascii('c') + '00')]);
  assert.throws(() => decodeFetchRequest(new Reader(bad), 12), ProtocolError);
});

test('nullable structs use a presence byte', () => {
  const m = { topics: [{ name: 'a' }], responsePartitionLimit: 2000, cursor: null };
  assert.equal(encodeWith(encodeDescribeTopicPartitionsRequest, m, 0).toString('hex'), '02' + '02' + ascii('a') + '00' + '000007d0' + 'ff' + '00');
  const withCursor = { ...m, cursor: { topicName: 'b', partitionIndex: 7 } };
  const bytes = encodeWith(encodeDescribeTopicPartitionsRequest, withCursor, 0);
  assert.equal(bytes.toString('hex'), '02' + '02' + ascii('a') + '00' + '000007d0' + '01' + '02' + ascii('b') + '00000007' + '00' + '00');
  assert.deepEqual(decodeAll(decodeDescribeTopicPartitionsRequest, bytes, 0), withCursor);
});

test('forged array counts are rejected before allocating', () => {
  // Produce v3: topicData claims 100 million topics in a 20-byte frame.
  const forged = hex('ffff' + 'ffff' + '00007530' + '05f5e100' + '00000000000000000000');
  assert.throws(() => decodeProduceRequest(new Reader(forged), 3), /cannot fit/);
  // Each topic needs at least 6 bytes (name length + partition count): 2 cannot fit in 10.
  const tight = hex('ffff' + 'ffff' + '00007530' + '00000002' + '000174' + '0000000000');
  assert.throws(() => decodeProduceRequest(new Reader(tight), 3), ProtocolError);
});

test('request header versions', () => {
  assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 99), 2, 'newer versions stay flexible');
  assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  assert.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
  assert.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1);
  assert.throws(() => requestHeaderVersion(999, 0), ProtocolError);
});

test('response header versions: ApiVersions is always v0', () => {
  assert.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 4), 0);
  assert.equal(responseHeaderVersion(ApiKey.SaslHandshake, 1), 0);
  assert.throws(() => responseHeaderVersion(-5, 0), ProtocolError);
  const bytes = encodeWith(encodeResponseHeader, { correlationId: 42 }, 1);
  assert.equal(bytes.toString('hex'), '0000002a00');
  assert.deepEqual(decodeAll(decodeResponseHeader, bytes, 1), { correlationId: 42 });
});

test('decodeRequestHeader picks the header version from the API key and version', () => {
  // ApiVersions v3 from a client: header v2, ClientId keeps its classic int16 length.
  const v2 = hex('0012' + '0003' + '00000007' + '0004' + ascii('kcat') + '00' + 'ffee');
  const r = new Reader(v2);
  assert.deepEqual(decodeRequestHeader(r), {
    requestApiKey: 18,
    requestApiVersion: 3,
    correlationId: 7,
    clientId: 'kcat',
    headerVersion: 2,
  });
  assert.equal(r.remaining, 2, 'the body is left for the API decoder');
  assert.equal(
    encodeWith(encodeRequestHeader, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'kcat' }, 2).toString('hex'),
    v2.subarray(0, v2.length - 2).toString('hex'),
  );
  // Header v1 (Produce v8) with a null client id.
  assert.deepEqual(decodeRequestHeader(new Reader(hex('0000' + '0008' + '00000001' + 'ffff'))), {
    requestApiKey: 0,
    requestApiVersion: 8,
    correlationId: 1,
    clientId: null,
    headerVersion: 1,
  });
  // ControlledShutdown v0: header v0, no client id.
  const v0 = new Reader(hex('0007' + '0000' + '00000005' + 'aa'));
  assert.deepEqual(decodeRequestHeader(v0), { requestApiKey: 7, requestApiVersion: 0, correlationId: 5, clientId: '', headerVersion: 0 });
  assert.equal(v0.remaining, 1);
  // Unknown API key: the correlation id is still readable.
  const unknown = new Reader(hex('0fff' + '0001' + '0000002a' + '0003616263'));
  assert.deepEqual(decodeRequestHeader(unknown), {
    requestApiKey: 0x0fff,
    requestApiVersion: 1,
    correlationId: 42,
    clientId: null,
    headerVersion: null,
  });
  assert.throws(() => decodeRequestHeader(new Reader(hex('0012'))), ProtocolError);
  assert.throws(() => decodeRequestHeader(new Reader(hex('0fff0001000000'))), ProtocolError);
  // Explicit header version.
  assert.deepEqual(decodeRequestHeader(new Reader(hex('0012000300000007')), 0), {
    requestApiKey: 18,
    requestApiVersion: 3,
    correlationId: 7,
    clientId: '',
  });
});

test('encoders fill in defaults for omitted optional fields', () => {
  const bytes = encodeWith(encodeProduceResponse, { responses: [] }, 1);
  assert.equal(bytes.toString('hex'), '00000000' + '00000000');
  const fetch = decodeAll(decodeFetchRequest, encodeWith(encodeFetchRequest, { maxWaitMs: 1, minBytes: 2, topics: [] }, 15), 15);
  assert.deepEqual(fetch.replicaState, { replicaId: -1, replicaEpoch: -1n });
  assert.equal(fetch.isolationLevel, 0);
  assert.equal(fetch.sessionEpoch, -1);
  assert.deepEqual(fetch.forgottenTopicsData, []);
  // A non-default tagged struct is written; at its default it is not.
  const withState = encodeWith(encodeFetchRequest, { maxWaitMs: 1, minBytes: 2, topics: [], replicaState: { replicaId: 3, replicaEpoch: 9n } }, 15);
  assert.deepEqual(decodeAll(decodeFetchRequest, withState, 15).replicaState, { replicaId: 3, replicaEpoch: 9n });
  assert.ok(withState.length > encodeWith(encodeFetchRequest, { maxWaitMs: 1, minBytes: 2, topics: [] }, 15).length);
  // replicaState does not exist before v15 and is not ignorable.
  assert.throws(() => encodeWith(encodeFetchRequest, { maxWaitMs: 1, minBytes: 2, topics: [], replicaState: { replicaId: 3, replicaEpoch: 9n } }, 14), ProtocolError);
});
