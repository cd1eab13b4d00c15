import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCheckpoint } from '../../src/storage/checkpoint.js';
import { CLEAN_SHUTDOWN_FILE, LogManager } from '../../src/storage/log-manager.js';
import { withTempDir } from './make-batch.js';
import { assertContiguous, batch, readAll, smallConfig } from './helpers.js';

const config = smallConfig({ segmentBytes: 2048 });

async function crashManager(manager: LogManager): Promise<void> {
  // Files closed, nothing flushed, no checkpoints, no marker: what a kill -9 leaves.
  await Promise.all(manager.allLogs().map((log) => log.closeForDeletion()));
}

test('logs spread over log dirs; close writes checkpoints and the clean-shutdown marker; reopen scans nothing', () =>
  withTempDir(async (root) => {
    const dirs = [join(root, 'a'), join(root, 'b')];
    const manager = await LogManager.open(dirs, config, { timers: false });
    assert.deepEqual([...manager.cleanShutdown.values()], [false, false]); // fresh directories
    const ends = new Map<number, number>();
    for (let p = 0; p < 4; p++) {
      const log = await manager.createLog('events', p);
      for (let i = 0; i < 10 + p * 10; i++) await log.append(batch(2, 60));
      log.highWatermark = log.logEndOffset - 2;
      ends.set(p, log.logEndOffset);
    }
    assert.equal(manager.logsInDir(dirs[0]!).length, 2);
    assert.equal(manager.logsInDir(dirs[1]!).length, 2);
    assert.equal(await manager.createLog('events', 0), manager.getLog('events', 0)); // idempotent
    await manager.close();

    for (const dir of dirs) {
      assert.ok(existsSync(join(dir, CLEAN_SHUTDOWN_FILE)));
      const rp = parseCheckpoint(readFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'utf8'));
      const hw = parseCheckpoint(readFileSync(join(dir, 'replication-offset-checkpoint'), 'utf8'));
      const lso = parseCheckpoint(readFileSync(join(dir, 'log-start-offset-checkpoint'), 'utf8'));
      assert.equal(rp.size, 2);
      for (const [key, e] of rp) {
        assert.equal(e.offset, ends.get(e.partition), key);
        assert.equal(hw.get(key)!.offset, ends.get(e.partition)! - 2);
        assert.equal(lso.get(key)!.offset, 0);
      }
    }

    const again = await LogManager.open(dirs, config, { timers: false });
    assert.deepEqual([...again.cleanShutdown.values()], [true, true]);
    for (const dir of dirs) assert.ok(!existsSync(join(dir, CLEAN_SHUTDOWN_FILE)));
    for (let p = 0; p < 4; p++) {
      const log = again.getLog('events', p)!;
      assert.equal(log.loadStats.segmentsRecovered, 0);
      assert.equal(log.loadStats.batchesValidated, 0);
      assert.equal(log.logEndOffset, ends.get(p));
      assert.equal(log.highWatermark, ends.get(p)! - 2);
      assertContiguous(await readAll(log), 0, ends.get(p)!);
    }
    await again.close();
  }));

test('after a crash logs recover from the checkpointed recovery point', () =>
  withTempDir(async (root) => {
    const dir = join(root, 'data');
    const manager = await LogManager.open([dir], config, { timers: false });
    const log = await manager.createLog('t', 0);
    for (let i = 0; i < 60; i++) await log.append(batch(2, 60));
    await log.flush();
    await manager.writeCheckpoints();
    const flushed = log.recoveryPoint;
    for (let i = 0; i < 5; i++) await log.append(batch(2, 60));
    const end = log.logEndOffset;
    await crashManager(manager);

    const again = await LogManager.open([dir], config, { timers: false });
    assert.equal(again.cleanShutdown.get(dir), false);
    const recovered = again.getLog('t', 0)!;
    assert.equal(recovered.loadStats.cleanShutdown, false);
    assert.ok(recovered.loadStats.segmentsRecovered >= 1);
    assert.ok(recovered.loadStats.segmentsRecovered < recovered.segmentCount, 'segments below the recovery point are trusted');
    assert.equal(recovered.recoveryPoint, flushed);
    assert.equal(recovered.logEndOffset, end);
    assertContiguous(await readAll(recovered), 0, end);
    await again.close();
  }));

test('deleteLog renames the directory for background removal; leftovers are cleaned at open', () =>
  withTempDir(async (root) => {
    const dir = join(root, 'data');
    const manager = await LogManager.open([dir], config, { timers: false });
    const log = await manager.createLog('gone', 3);
    await log.append(batch());
    await manager.createLog('kept', 0);
    assert.equal(await manager.deleteLog('gone', 3), true);
    assert.equal(await manager.deleteLog('gone', 3), false);
    assert.equal(manager.getLog('gone', 3), undefined);
    await assert.rejects(log.append(batch()));
    const rp = parseCheckpoint(readFileSync(join(dir, 'recovery-point-offset-checkpoint'), 'utf8'));
    assert.deepEqual([...rp.keys()], ['kept-0']);
    await manager.close();
    assert.deepEqual(readdirSync(dir).filter((n) => !n.includes('checkpoint') && n !== CLEAN_SHUTDOWN_FILE), ['kept-0']);

    mkdirSync(join(dir, 'old-0.0123456789abcdef-delete'));
    writeFileSync(join(dir, 'old-0.0123456789abcdef-delete', '00000000000000000000.log'), 'x');
    mkdirSync(join(dir, 'not a partition'));
    const again = await LogManager.open([dir], config, { timers: false });
    await again.close();
    assert.ok(!existsSync(join(dir, 'old-0.0123456789abcdef-delete')));
    assert.deepEqual(again.allLogs().map((l) => l.topicPartition), [{ topic: 'kept', partition: 0 }]);
  }));

test('a log dir that cannot be written is refused with a clear error', () =>
  withTempDir(async (root) => {
    const file = join(root, 'plain-file');
    writeFileSync(file, 'x');
    await assert.rejects(LogManager.open([file], config, { timers: false }), /log directory .*plain-file is not usable/);
    await assert.rejects(LogManager.open([join(file, 'sub')], config, { timers: false }), /not usable/);
  }));

test('timers apply retention, time-based flush and checkpoints', () =>
  withTempDir(async (root) => {
    const dir = join(root, 'data');
    const manager = await LogManager.open([dir], config, {
      retentionCheckIntervalMs: 20,
      flushCheckIntervalMs: 10,
      highWatermarkCheckpointIntervalMs: 10,
    });
    const log = await manager.createLog('ttl', 0, smallConfig({ segmentBytes: 1024, retentionMs: 1000, flushIntervalMs: 5 }));
    // Old timestamps: everything but the active segment expires at once.
    for (let i = 0; i < 30; i++) await log.append(batch(2, 60, Date.now() - 3_600_000));
    const segments = log.segmentCount;
    log.highWatermark = log.logEndOffset;
    const deadline = Date.now() + 5000;
    while ((log.logStartOffset === 0 || log.recoveryPoint < log.logEndOffset) && Date.now() < deadline) await sleep(10);
    assert.ok(log.logStartOffset > 0, 'retention ran');
    assert.ok(log.segmentCount < segments);
    assert.equal(log.recoveryPoint, log.logEndOffset, 'flush ran');
    while (!existsSync(join(dir, 'replication-offset-checkpoint')) && Date.now() < deadline) await sleep(10);
    assert.ok(existsSync(join(dir, 'replication-offset-checkpoint')));
    manager.updateTopicConfig('ttl', smallConfig({ segmentBytes: 1 << 20, retentionMs: -1 }));
    assert.equal(log.config.segmentBytes, 1 << 20);
    await manager.close();
  }));
