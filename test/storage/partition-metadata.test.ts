import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUuid } from '../../src/controller/uuid.js';
import type { LogFields, Logger } from '../../src/logging.js';
import { LogManager } from '../../src/storage/log-manager.js';
import {
  PARTITION_METADATA_FILE,
  PartitionMetadataError,
  encodePartitionMetadata,
  parsePartitionMetadata,
  readPartitionMetadata,
  writePartitionMetadata,
} from '../../src/storage/partition-metadata.js';
import { withTempDir } from './make-batch.js';
import { batch, openLog, smallConfig } from './helpers.js';

/** A logger that keeps its warnings, so a test can see what was reported. */
function recordingLogger(warnings: Array<{ message: string; fields: LogFields }>): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields = {}) => warnings.push({ message, fields }),
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}

test("the file is Kafka's text: a version line and a topic_id line with the base64url id", () => {
  // 16 bytes 0x00..0x0f print as Kafka's Uuid.toString() does.
  const id = Buffer.from([...Array(16).keys()]).toString('base64url');
  assert.equal(id, 'AAECAwQFBgcICQoLDA0ODw');
  assert.equal(encodePartitionMetadata(id), 'version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw');
  assert.equal(parsePartitionMetadata('version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw'), id);
  // Tolerated on read: a trailing newline and extra whitespace after the colon, as Kafka's ":\s+" split allows.
  assert.equal(parsePartitionMetadata('version:  0\ntopic_id:\tAAECAwQFBgcICQoLDA0ODw\n'), id);
  assert.throws(() => encodePartitionMetadata('not-an-id'), /not a topic id/);
});

test('write then read round-trips the id, atomically (no tmp file left); a directory without the file reads as null', () =>
  withTempDir(async (dir) => {
    assert.equal(await readPartitionMetadata(dir), null);
    const first = randomUuid();
    await writePartitionMetadata(dir, first);
    assert.equal(await readPartitionMetadata(dir), first);
    assert.equal(await readFile(join(dir, PARTITION_METADATA_FILE), 'utf8'), `version: 0\ntopic_id: ${first}`);
    const second = randomUuid();
    await writePartitionMetadata(dir, second);
    assert.equal(await readPartitionMetadata(dir), second);
    assert.deepEqual(await readdir(dir), [PARTITION_METADATA_FILE]);
  }));

test('a malformed file is a PartitionMetadataError naming the file and the problem', () =>
  withTempDir(async (dir) => {
    const id = randomUuid();
    const cases: Array<[string, RegExp]> = [
      ['', /expected 2 lines, found 1/],
      ['version: 0', /expected 2 lines, found 1/],
      [`version: 1\ntopic_id: ${id}`, /unsupported version "1"/],
      [`topic_id: ${id}\nversion: 0`, /expected "version: <value>"/],
      ['version: 0\ntopic_id: AAECAwQFBgcICQoLDA0OD', /not a base64url uuid/], // 21 characters
      ['version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODx', /not a base64url uuid/], // bits past the 128th set
      [`version: 0\ntopic_id: ${id}\nextra: 1`, /expected 2 lines, found 3/],
      ['\u0000\u0001garbage', /expected 2 lines|expected "version/],
    ];
    for (const [text, reason] of cases) {
      await writeFile(join(dir, PARTITION_METADATA_FILE), text);
      await assert.rejects(readPartitionMetadata(dir), (err: unknown) => {
        assert.ok(err instanceof PartitionMetadataError, `${JSON.stringify(text)}: ${String(err)}`);
        assert.match(err.message, reason);
        assert.ok(err.message.includes(join(dir, PARTITION_METADATA_FILE)));
        return true;
      });
    }
  }));

test('a log with a corrupt partition.metadata opens with its records, reports the file, and has no topic id until one is assigned', () =>
  withTempDir(async (dir) => {
    const log = await openLog(dir);
    for (let i = 0; i < 5; i++) await log.append(batch(2));
    await log.close();
    await writeFile(join(dir, PARTITION_METADATA_FILE), 'version: 0\ntopic_id: ???');

    const warnings: Array<{ message: string; fields: LogFields }> = [];
    const reopened = await openLog(dir, smallConfig(), { logger: recordingLogger(warnings) });
    assert.equal(reopened.logEndOffset, 10);
    assert.equal(reopened.topicId, null);
    const report = warnings.find((w) => w.message.includes('partition.metadata'));
    assert.ok(report, `warnings: ${JSON.stringify(warnings)}`);
    assert.match(String(report.fields.err), /not a base64url uuid/);

    const id = randomUuid();
    await reopened.assignTopicId(id);
    assert.equal(reopened.topicId, id);
    await reopened.close();
    const again = await openLog(dir);
    assert.equal(again.topicId, id);
    await again.close();
  }));

test('LogManager.createLog stores a given topic id; it is read back when the logs are loaded', () =>
  withTempDir(async (root) => {
    const config = smallConfig();
    const id = randomUuid();
    const manager = await LogManager.open([root], config, { timers: false, cleaner: false });
    const withId = await manager.createLog('t', 0, undefined, id);
    const withoutId = await manager.createLog('t', 1);
    assert.equal(withId.topicId, id);
    assert.equal(withoutId.topicId, null);
    assert.equal(await readPartitionMetadata(withId.dir), id);
    await withId.append(batch(3));
    await manager.close();

    const reopened = await LogManager.open([root], config, { timers: false, cleaner: false });
    assert.equal(reopened.getLog('t', 0)?.topicId, id);
    assert.equal(reopened.getLog('t', 0)?.logEndOffset, 3);
    assert.equal(reopened.getLog('t', 1)?.topicId, null);
    await reopened.close();
  }));
