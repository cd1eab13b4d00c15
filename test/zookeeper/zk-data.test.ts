import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zd from '../../src/zookeeper/zk-data.js';
import { ZkDataError } from '../../src/zookeeper/types.js';

const buf = (s: string) => Buffer.from(s, 'utf8');

test('broker registration: Kafka 3.x JSON parses; ours has Kafka\'s fields and round-trips', () => {
  const kafka =
    '{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT","INTERNAL":"SSL"},"endpoints":["PLAINTEXT://host1:9092","INTERNAL://[::1]:9093"],"jmx_port":-1,"port":9092,"host":"host1","version":5,"timestamp":"1700000000000","rack":"r1"}';
  assert.deepEqual(zd.parseBrokerRegistration('/brokers/ids/1', 1, buf(kafka)), {
    brokerId: 1,
    rack: 'r1',
    endpoints: [
      { listenerName: 'PLAINTEXT', host: 'host1', port: 9092, securityProtocol: 'PLAINTEXT' },
      { listenerName: 'INTERNAL', host: '::1', port: 9093, securityProtocol: 'SSL' },
    ],
  });
  const reg = { brokerId: 2, rack: null, endpoints: [{ listenerName: 'CLIENT', host: 'h', port: 1234, securityProtocol: 'SASL_SSL' }] };
  const encoded = JSON.parse(zd.encodeBrokerRegistration(reg, 42).toString());
  assert.deepEqual(encoded, {
    features: {},
    listener_security_protocol_map: { CLIENT: 'SASL_SSL' },
    endpoints: ['CLIENT://h:1234'],
    jmx_port: -1,
    port: -1,
    host: null,
    version: 5,
    timestamp: '42',
  });
  assert.deepEqual(zd.parseBrokerRegistration('/p', 2, zd.encodeBrokerRegistration(reg, 42)), reg);
  // Version 2 had no protocol map: the listener name is the protocol.
  const v2 = '{"jmx_port":-1,"timestamp":"1","endpoints":["SSL://a:9093"],"host":null,"version":2,"port":-1}';
  assert.deepEqual(zd.parseBrokerRegistration('/p', 3, buf(v2)).endpoints, [{ listenerName: 'SSL', host: 'a', port: 9093, securityProtocol: 'SSL' }]);
});

test('topic assignment: versions 1-3 parse, topic id kept, encoding is Kafka\'s', () => {
  const v3 = '{"version":3,"topic_id":"AAAAAAAAAAAAAAAAAAAAAQ","partitions":{"0":[1,2,3],"1":[2,3,1]},"adding_replicas":{"1":[1]},"removing_replicas":{}}';
  const a = zd.parseTopicAssignment('/brokers/topics/t', 't', buf(v3), 7);
  assert.equal(a.topicId, 'AAAAAAAAAAAAAAAAAAAAAQ');
  assert.deepEqual([...a.partitions], [[0, [1, 2, 3]], [1, [2, 3, 1]]]);
  assert.deepEqual([...a.addingReplicas], [[1, [1]]]);
  assert.equal(a.zkVersion, 7);
  assert.equal(zd.encodeTopicAssignment(a).toString(), v3);
  const v1 = zd.parseTopicAssignment('/p', 't', buf('{"version":1,"partitions":{"0":[5]}}'), 0);
  assert.equal(v1.topicId, null);
  assert.deepEqual([...v1.partitions], [[0, [5]]]);
});

test('partition state, controller, configs, reassignment, cluster id, producer ids: Kafka\'s shapes', () => {
  const state = zd.parseLeaderIsrState('/s', buf('{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3]}'), 4);
  assert.deepEqual(state, { leader: 1, leaderEpoch: 0, isr: [1, 2, 3], controllerEpoch: 1, zkVersion: 4 });
  assert.equal(
    zd.encodeLeaderIsrState(state).toString(),
    '{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2,3],"leader_recovery_state":0}',
  );
  assert.equal(zd.parseController('/c', buf('{"version":2,"brokerid":3000,"timestamp":"1","kraftControllerEpoch":5}')), 3000);
  assert.equal(zd.encodeController(1, 99).toString(), '{"version":1,"brokerid":1,"timestamp":"99"}');
  assert.equal(zd.parseControllerEpoch('/e', buf('12')), 12);
  assert.equal(zd.encodeEntityConfig({ 'retention.ms': '1000' }).toString(), '{"version":1,"config":{"retention.ms":"1000"}}');
  assert.equal(zd.encodeConfigChange('topics/t').toString(), '{"version":2,"entity_path":"topics/t"}');
  assert.equal(zd.parseConfigChange('/n', buf('{"version":1,"entity_type":"topics","entity_name":"t"}')), 'topics/t');
  const reassign = '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}';
  assert.equal(zd.encodeReassignment(zd.parseReassignment('/r', buf(reassign))).toString(), reassign);
  assert.equal(zd.encodeClusterId('abc').toString(), '{"version":"1","id":"abc"}');
  assert.equal(zd.parseClusterId('/cluster/id', buf('{"version":"1","id":"abc"}')), 'abc');
  const block = '{"version":1,"broker":0,"block_start":"0","block_end":"999"}';
  assert.deepEqual(zd.parseProducerIdBlock('/b', buf(block)), { brokerId: 0, firstProducerId: 0, size: 1000 });
  assert.equal(zd.encodeProducerIdBlock({ brokerId: 0, firstProducerId: 0, size: 1000 }).toString(), block);
  assert.equal(zd.parseProducerIdBlock('/b', Buffer.alloc(0)), null);
});

test('parsers throw only ZkDataError on foreign or corrupt data', () => {
  const bad = ['', 'not json', '[]', 'null', '{"version":9}', '{"version":1,"partitions":{"x":[1]}}', '{"version":1,"brokerid":"1"}', '{"version":"1"}'];
  const parsers: ((d: Buffer) => unknown)[] = [
    (d) => zd.parseBrokerRegistration('/p', 1, d),
    (d) => zd.parseTopicAssignment('/p', 't', d, 0),
    (d) => zd.parseLeaderIsrState('/p', d, 0),
    (d) => zd.parseController('/p', d),
    (d) => zd.parseControllerEpoch('/p', d),
    (d) => zd.parseEntityConfig('/p', d),
    (d) => zd.parseConfigChange('/p', d),
    (d) => zd.parseReassignment('/p', d),
    (d) => zd.parseClusterId('/p', d),
    (d) => zd.parseProducerIdBlock('/p', d),
  ];
  for (const parse of parsers) {
    for (const text of bad) {
      try {
        parse(buf(text));
      } catch (error) {
        assert.ok(error instanceof ZkDataError, `${String(error)} for ${JSON.stringify(text)}`);
      }
    }
  }
  assert.throws(() => zd.parseTopicAssignment('/brokers/topics/t', 't', buf('{"version":1,"partitions":{"x":[1]}}'), 0), /\/brokers\/topics\/t: .*partition/);
});
