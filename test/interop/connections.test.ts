/**
 * 500 concurrent connections, each doing a Metadata request, all succeed.
 * The broker runs as its own process (`ganglion server-start`), so the 500
 * client sockets and the broker's 500 server sockets do not share one
 * process's file-descriptor limit (1024 on many CI machines).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ApiKey } from '../../src/protocol/messages/api-table.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import { freePort, makeTempDir, removeDir, startBrokerProcess, type BrokerProcess } from '../helpers/broker.js';
import { RawConnection } from './raw-client.js';
import { autoCreateTopic } from './support.js';

const CONNECTIONS = 500;
const TOPIC = 'many-connections';

let broker: BrokerProcess | undefined;
let dir: string | undefined;
after(async () => {
  await broker?.process.stop(3000);
  if (dir) await removeDir(dir);
});

test(`${CONNECTIONS} concurrent connections each get a Metadata answer`, { timeout: 60_000 }, async (t) => {
  dir = await makeTempDir('ganglion-conns-');
  broker = await startBrokerProcess({ logDir: join(dir, 'data'), port: await freePort(), overrides: { 'num.partitions': 2 } });
  assert.equal(await autoCreateTopic(broker.port, TOPIC), 2);

  const started = Date.now();
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawConnection.connect(broker!.port, '127.0.0.1', 20_000)));
  t.diagnostic(`${CONNECTIONS} connections open after ${Date.now() - started} ms`);
  try {
    // Every connection is open at once; now each asks at the same time.
    const answers = await Promise.all(
      conns.map((c, i) =>
        c.request(ApiKey.Metadata, i % 2 === 0 ? 12 : 1, i % 2 === 0 ? { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false } : { topics: [{ name: TOPIC }] }, 20_000),
      ),
    );
    t.diagnostic(`${CONNECTIONS} Metadata answers after ${Date.now() - started} ms`);
    for (const a of answers) {
      assert.deepEqual(a.brokers.map((x) => [x.nodeId, x.host, x.port]), [[0, '127.0.0.1', broker.port]]);
      assert.equal(a.topics.length, 1);
      assert.equal(a.topics[0]!.errorCode, 0);
      assert.equal(a.topics[0]!.name, TOPIC);
      assert.deepEqual(a.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId]).sort(), [[0, 0], [1, 0]]);
    }
    assert.ok(conns.every((c) => !c.isClosed), 'no connection was dropped');
    // A second round on the same connections.
    const again = await Promise.all(conns.map((c) => c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'conns', clientSoftwareVersion: '1' }, 20_000)));
    assert.ok(again.every((a) => a.errorCode === 0));
  } finally {
    for (const c of conns) c.close();
  }
});
