import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoordinatorKeyType, createFindCoordinatorHandler } from '../../../src/broker/handlers/find-coordinator.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import type { FindCoordinatorRequest } from '../../../src/protocol/messages/find-coordinator.js';
import { call, versionsOf, withFixture } from './admin-fixture.js';

function request(v: number, keys: string[], keyType: number = CoordinatorKeyType.GROUP): FindCoordinatorRequest {
  if (v >= 4) return { keyType, coordinatorKeys: keys };
  return v >= 1 ? { key: keys[0]!, keyType } : { key: keys[0]! };
}

test('FindCoordinator answers COORDINATOR_NOT_AVAILABLE for every key at every version', async () => {
  await withFixture(async (f) => {
    const handler = createFindCoordinatorHandler(f);
    assert.deepEqual([handler.minVersion, handler.maxVersion], [0, 6]);
    for (const v of versionsOf(handler)) {
      const res = await call(handler, v, request(v, ['orders-app', 'billing']));
      if (v >= 4) {
        assert.deepEqual(
          res.coordinators!.map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode]),
          [
            ['orders-app', -1, '', -1, ErrorCode.COORDINATOR_NOT_AVAILABLE],
            ['billing', -1, '', -1, ErrorCode.COORDINATOR_NOT_AVAILABLE],
          ],
        );
        assert.match(res.coordinators![0]!.errorMessage!, /group coordinator is not available/);
      } else {
        assert.deepEqual([res.errorCode, res.nodeId, res.host, res.port], [ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, '', -1]);
        if (v >= 1) assert.match(res.errorMessage!, /does not run consumer groups yet/);
      }
    }
    const txn = await call(handler, 3, request(3, ['tx-1'], CoordinatorKeyType.TRANSACTION));
    assert.equal(txn.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.match(txn.errorMessage!, /transaction coordinator/);
  });
});

test('FindCoordinator refuses unknown key types, and share keys before v6', async () => {
  await withFixture(async (f) => {
    const handler = createFindCoordinatorHandler(f);
    const unknown = await call(handler, 4, request(4, ['a', 'b'], 7));
    assert.deepEqual(unknown.coordinators!.map((c) => c.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    assert.match(unknown.coordinators![0]!.errorMessage!, /Unknown coordinator type received: 7/);
    const share5 = await call(handler, 5, request(5, ['g:t:0'], CoordinatorKeyType.SHARE));
    assert.equal(share5.coordinators![0]!.errorCode, ErrorCode.INVALID_REQUEST);
    const share6 = await call(handler, 6, request(6, ['g:t:0'], CoordinatorKeyType.SHARE));
    assert.equal(share6.coordinators![0]!.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

test('FindCoordinator answers with the coordinator a lookup finds', async () => {
  await withFixture(async (f) => {
    const handler = createFindCoordinatorHandler(f, (_type, key) => ({ nodeId: 1, host: `${key}.example`, port: 9092 }));
    const old = await call(handler, 2, request(2, ['g']));
    assert.deepEqual([old.errorCode, old.errorMessage, old.nodeId, old.host, old.port], [0, null, 1, 'g.example', 9092]);
    const batched = await call(handler, 6, request(6, ['g']));
    assert.deepEqual(batched.coordinators, [{ key: 'g', nodeId: 1, host: 'g.example', port: 9092, errorCode: 0, errorMessage: null }]);
  });
});
