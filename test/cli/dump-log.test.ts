/**
 * `ganglion dump-log` on a segment a broker wrote (with its indexes) and on
 * hand-built segments: compressed, transactional and control batches, a
 * corrupt CRC, trailing garbage, a broken index.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consoleProducer } from '../../src/cli/console-producer.js';
import { dumpLog } from '../../src/cli/dump-log.js';
import { CompressionType, buildBatch, buildTxnMarkerBatch } from '../../src/protocol/records/index.js';
import { makeTempDir, removeDir, startTestBroker } from '../helpers/broker.js';
import { lines, runTool } from './helpers.js';

const SEGMENT = '00000000000000000000';

describe('ganglion dump-log', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('ganglion-dump-log-');
  });
  after(async () => removeDir(dir));

  it('dumps a segment the broker wrote, and its offset and time indexes', async () => {
    const brokerDir = join(dir, 'broker');
    await mkdir(brokerDir);
    const broker = await startTestBroker({ dir: brokerDir, config: { 'log.index.interval.bytes': 1, 'num.partitions': 1 } });
    try {
      const input = 'h:v\tk1\thello\n\tk2\tworld\n\tk3\tagain\n';
      const p = await runTool(consoleProducer, ['--bootstrap-server', broker.bootstrap, '--topic', 'dumped', '--sync', '--property', 'parse.key=true', '--property', 'parse.headers=true'], input.replace(/^\t/gm, 'x:y\t'));
      assert.equal(p.code, 0, p.stderr);
    } finally {
      await broker.close(); // flushes the indexes
    }
    const base = join(brokerDir, 'data', 'dumped-0', SEGMENT);

    const log = await runTool(dumpLog, ['--files', `${base}.log`, '--print-data-log']);
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stderr, '');
    const out = lines(log.stdout);
    assert.equal(out[0], `Dumping ${base}.log`);
    assert.equal(out[1], 'Log starting offset: 0');
    assert.equal(out.length, 2 + 3 * 2, log.stdout);
    let position = 0;
    for (let i = 0; i < 3; i++) {
      const batch = out[2 + 2 * i]!;
      const m = new RegExp(
        `^baseOffset: ${i} lastOffset: ${i} count: 1 baseSequence: -?\\d+ lastSequence: -?\\d+ producerId: -?\\d+ producerEpoch: -?\\d+ ` +
          `partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: ${position} ` +
          `CreateTime: \\d{13} size: (\\d+) magic: 2 compresscodec: none crc: \\d+ isvalid: true$`,
      ).exec(batch);
      assert.ok(m, batch);
      position += Number(m[1]);
      const headerKey = i === 0 ? 'h' : 'x';
      assert.match(
        out[3 + 2 * i]!,
        new RegExp(`^\\| offset: ${i} CreateTime: \\d{13} keySize: 2 valueSize: 5 sequence: -?\\d+ headerKeys: \\[${headerKey}\\] key: k${i + 1} payload: ${['hello', 'world', 'again'][i]}$`),
      );
    }

    const shallow = await runTool(dumpLog, ['--files', `${base}.log`]);
    assert.equal(lines(shallow.stdout).length, 2 + 3, 'batches only without --deep-iteration');

    const indexes = await runTool(dumpLog, ['--files', `${base}.index,${base}.timeindex`]);
    assert.equal(indexes.code, 0, indexes.stderr);
    assert.equal(indexes.stderr, '', 'the indexes point where they should');
    const idx = lines(indexes.stdout);
    assert.equal(idx[0], `Dumping ${base}.index`);
    const offsetEntries = idx.slice(1, idx.indexOf(`Dumping ${base}.timeindex`));
    assert.ok(offsetEntries.length >= 1, indexes.stdout);
    for (const e of offsetEntries) assert.match(e, /^offset: \d+ position: \d+$/);
    const timeEntries = idx.slice(idx.indexOf(`Dumping ${base}.timeindex`) + 1);
    for (const e of timeEntries) assert.match(e, /^timestamp: \d{13} offset: \d+$/);

    const verify = await runTool(dumpLog, ['--files', `${base}.index,${base}.timeindex`, '--verify-index-only']);
    assert.deepEqual(lines(verify.stdout), [`Dumping ${base}.index`, `Dumping ${base}.timeindex`]);
    const sanity = await runTool(dumpLog, ['--files', `${base}.index`, '--index-sanity-check']);
    assert.deepEqual(lines(sanity.stdout), [`Dumping ${base}.index`, `${base}.index passed sanity check.`]);

    // An index entry pointing at the wrong batch is reported.
    const broken = join(dir, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, `${SEGMENT}.log`), await readFile(`${base}.log`));
    const entry = Buffer.alloc(8);
    entry.writeInt32BE(2, 0); // offset 2 ...
    entry.writeInt32BE(0, 4); // ... at the position of offset 0
    await writeFile(join(broken, `${SEGMENT}.index`), entry);
    const bad = await runTool(dumpLog, ['--files', join(broken, `${SEGMENT}.index`)]);
    assert.equal(bad.code, 0);
    assert.deepEqual(lines(bad.stderr), [`Mismatches in :${join(broken, `${SEGMENT}.index`)}`, '  Index offset: 2, log offset: 0']);
  });

  it('shows compression, transactional and control batches, bad CRCs and trailing bytes', async () => {
    const ts = 1_700_000_000_000;
    const data = buildBatch(
      [
        { key: 'k1', value: 'v1', timestamp: ts },
        { key: null, value: 'v2', timestamp: ts + 1, headers: [{ key: 'a', value: '1' }, { key: 'b', value: null }] },
      ],
      { compression: CompressionType.Gzip, baseOffset: 0, producerId: 7n, producerEpoch: 1, baseSequence: 0, transactional: true, partitionLeaderEpoch: 3 },
    );
    const marker = buildTxnMarkerBatch({ commit: true, coordinatorEpoch: 5, producerId: 7n, producerEpoch: 1, baseOffset: 2, timestamp: ts + 2 });
    const tombstone = buildBatch([{ key: 'k3', value: null, timestamp: ts + 3 }], { baseOffset: 3 });
    const file = join(dir, `${SEGMENT}.log`);
    await writeFile(file, Buffer.concat([data, marker, tombstone]));

    const r = await runTool(dumpLog, ['--files', file, '--print-data-log']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(lines(r.stdout).slice(2).map((l) => l.replace(/crc: \d+/, 'crc: C').replace(/size: \d+/, 'size: S')), [
      'baseOffset: 0 lastOffset: 1 count: 2 baseSequence: 0 lastSequence: 1 producerId: 7 producerEpoch: 1 partitionLeaderEpoch: 3 isTransactional: true isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000001 size: S magic: 2 compresscodec: gzip crc: C isvalid: true',
      '| offset: 0 CreateTime: 1700000000000 keySize: 2 valueSize: 2 sequence: 0 headerKeys: [] key: k1 payload: v1',
      '| offset: 1 CreateTime: 1700000000001 keySize: -1 valueSize: 2 sequence: 1 headerKeys: [a,b] payload: v2',
      `baseOffset: 2 lastOffset: 2 count: 1 baseSequence: -1 lastSequence: -1 producerId: 7 producerEpoch: 1 partitionLeaderEpoch: -1 isTransactional: true isControl: true deleteHorizonMs: OptionalLong.empty position: ${data.length} CreateTime: 1700000000002 size: S magic: 2 compresscodec: none crc: C isvalid: true`,
      '| offset: 2 CreateTime: 1700000000002 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 5',
      `baseOffset: 3 lastOffset: 3 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: ${data.length + marker.length} CreateTime: 1700000000003 size: S magic: 2 compresscodec: none crc: C isvalid: true`,
      '| offset: 3 CreateTime: 1700000000003 keySize: 2 valueSize: -1 sequence: -1 headerKeys: [] key: k3',
    ]);

    // Flip a byte inside the last batch's records and append half a batch.
    const damaged = Buffer.concat([data, marker, tombstone, tombstone.subarray(0, 30)]);
    damaged[damaged.length - 30 - 3] ^= 0xff;
    const other = join(dir, '00000000000000000100.log');
    await writeFile(other, damaged);
    const d = await runTool(dumpLog, ['--files', other]);
    assert.equal(d.code, 0, d.stderr);
    const out = lines(d.stdout);
    assert.equal(out[1], 'Log starting offset: 100');
    assert.match(out[2]!, /isvalid: true$/);
    assert.match(out[4]!, /^baseOffset: 3 .* isvalid: false$/);
    assert.equal(out[5], 'Found 30 invalid bytes at the end of 00000000000000000100.log');

    const gap = join(dir, '00000000000000000200.log');
    await writeFile(gap, Buffer.concat([data, buildBatch([{ value: 'later', timestamp: ts }], { baseOffset: 10 })]));
    const deep = await runTool(dumpLog, ['--files', gap, '--deep-iteration']);
    assert.equal(deep.code, 0);
    assert.equal(lines(deep.stdout).filter((l) => l.startsWith('| offset: ')).length, 3);
    assert.doesNotMatch(deep.stdout, /payload/, 'no contents without --print-data-log');
    assert.deepEqual(lines(deep.stderr), [`Non-consecutive offsets in ${gap}`, '  1 is followed by 10']);
  });

  it('reports unknown files and bad arguments', async () => {
    const missing = await runTool(dumpLog, []);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Missing required argument "[files]"\n');
    const unknown = await runTool(dumpLog, ['--files', join(dir, 'notes.txt')]);
    assert.equal(unknown.code, 0);
    assert.equal(unknown.stderr, `Ignoring unknown file ${join(dir, 'notes.txt')}\n`);
    const absent = await runTool(dumpLog, ['--files', join(dir, '00000000000000000042.log')]);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /00000000000000000042\.log: No such file\n$/);
  });
});
