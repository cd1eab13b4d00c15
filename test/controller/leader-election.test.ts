import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  electControlledShutdownLeader,
  electOfflineLeader,
  electPreferredLeader,
  electReassignmentLeader,
} from '../../src/controller/zk/leader-election.js';

const live = (...ids: number[]) => new Set(ids);

test('offline election picks the first live ISR member in assignment order and drops dead ones from the ISR', () => {
  assert.deepEqual(electOfflineLeader([1, 2, 3], [3, 2, 1], live(2, 3), false), { leader: 2, isr: [3, 2] });
});

test('offline election with no live ISR member: none when unclean is off, a live out-of-sync replica when on', () => {
  assert.equal(electOfflineLeader([1, 2, 3], [1], live(2, 3), false), null);
  assert.deepEqual(electOfflineLeader([1, 2, 3], [1], live(3, 2), true), { leader: 2, isr: [2] });
  assert.equal(electOfflineLeader([1, 2], [1], live(), true), null);
});

test('preferred election only elects the first replica, and only when it is live and in sync', () => {
  assert.deepEqual(electPreferredLeader([1, 2, 3], [2, 3, 1], live(1, 2, 3)), { leader: 1, isr: [2, 3, 1] });
  assert.equal(electPreferredLeader([1, 2, 3], [2, 3], live(1, 2, 3)), null);
  assert.equal(electPreferredLeader([1, 2, 3], [1, 2, 3], live(2, 3)), null);
});

test('controlled shutdown moves leadership to another ISR member and removes the shutting-down broker from the ISR', () => {
  assert.deepEqual(electControlledShutdownLeader([1, 2, 3], [1, 2, 3], live(1, 2, 3), live(1)), { leader: 2, isr: [2, 3] });
  assert.equal(electControlledShutdownLeader([1, 2], [1], live(1, 2), live(1)), null);
});

test('a reassignment leader comes from the target replicas that are in sync', () => {
  assert.deepEqual(electReassignmentLeader([4, 2], [1, 2, 4], live(1, 2, 4)), { leader: 4, isr: [2, 4] });
  assert.deepEqual(electReassignmentLeader([4, 2], [1, 2], live(1, 2, 4)), { leader: 2, isr: [2] });
  assert.equal(electReassignmentLeader([4], [1, 2], live(1, 2, 4)), null);
});
