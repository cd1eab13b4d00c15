"""confluent-kafka-python (librdkafka) transactional client for Ganglion's interop tests.

Usage: txn_client.py <command> <bootstrap> with a JSON request on stdin; prints
one JSON object on the last stdout line (progress lines before it are JSON too).

  produce   {topic, transactional_id, transactions, per_txn, abort_every?, partitions?}
            transaction t holds records "t<t>-<i>"; every abort_every-th is aborted.
  ctp       {input, output, group, transactional_id, partitions, expected, abort_every?, batch?, timeout_s?, subscribe?}
            consume-transform-produce: reads the input (read_committed, assign(),
            or subscribe() as the group's only member),
            writes "out:<value>" to the output partition of the same number and
            commits the consumed offsets in the same transaction; every
            abort_every-th transaction is aborted and its input re-read from
            the last committed offsets. Ends when `expected` records of every
            input partition are committed.
  consume   {topic, partitions, isolation}  every record's value per partition.
  committed {group, topic, partitions}      the group's committed offsets.
  fence     {topic, transactional_id}       two producers with one transactional id.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def producer(bootstrap, txn_id, **extra):
    conf = {
        'bootstrap.servers': bootstrap,
        'transactional.id': txn_id,
        'linger.ms': 5,
        'transaction.timeout.ms': 60000,
        'message.timeout.ms': 60000,
    }
    conf.update(extra)
    return Producer(conf)


def cmd_produce(bootstrap, req):
    p = producer(bootstrap, req['transactional_id'], **req.get('config', {}))
    p.init_transactions(30)
    abort_every = req.get('abort_every', 0)
    parts = req.get('partitions', 1)
    committed = aborted = 0
    for t in range(req['transactions']):
        p.begin_transaction()
        for i in range(req['per_txn']):
            p.produce(req['topic'], value=('t%d-%d' % (t, i)).encode(), partition=i % parts)
        if abort_every and (t + 1) % abort_every == 0:
            p.flush(30)  # the aborted records reach the log (librdkafka would purge unsent ones)
            p.abort_transaction(30)
            aborted += 1
        else:
            p.commit_transaction(30)
            committed += 1
    out({'committed': committed, 'aborted': aborted})


def read_all(bootstrap, topic, partitions, isolation, group='txn-interop-reader', timeout_s=30):
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'auto.offset.reset': 'earliest',
        'isolation.level': isolation,
        'fetch.wait.max.ms': 50,
    })
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values = {p: [] for p in range(partitions)}
    eof = set()
    errors = []
    deadline = time.time() + timeout_s
    while len(eof) < partitions and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                else:
                    errors.append(str(m.error()))
                continue
            eof.discard(m.partition())
            values[m.partition()].append(m.value().decode())
    c.close()
    return values, len(eof) == partitions, errors


def cmd_consume(bootstrap, req):
    values, complete, errors = read_all(bootstrap, req['topic'], req['partitions'], req.get('isolation', 'read_committed'))
    out({'values': values, 'complete': complete, 'errors': errors})


def cmd_committed(bootstrap, req):
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': req['group'], 'enable.auto.commit': False})
    got = c.committed([TopicPartition(req['topic'], p) for p in range(req['partitions'])], timeout=20)
    c.close()
    out({'offsets': {tp.partition: tp.offset for tp in got}})


def retrying(fn, what, deadline):
    """Calls fn until it succeeds; retriable errors are retried, others raised."""
    while True:
        try:
            return fn()
        except KafkaException as e:
            err = e.args[0]
            if err.retriable() and not err.fatal() and time.time() < deadline:
                time.sleep(0.1)
                continue
            raise


def cmd_ctp(bootstrap, req):
    n = req['partitions']
    expected = req['expected']  # input records per partition
    abort_every = req.get('abort_every', 0)
    batch = req.get('batch', 50)
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': req['group'],
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 50,
        'reconnect.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
    })
    deadline = time.time() + req.get('timeout_s', 60)
    if req.get('subscribe'):
        # A group member: TxnOffsetCommit carries its member id and generation (v3+).
        c.subscribe([req['input']])
        while not c.assignment() and time.time() < deadline:
            c.poll(0.2)
        if len(c.assignment()) != n:
            raise SystemExit('expected all %d partitions assigned, got %s' % (n, c.assignment()))
        committed = c.committed(c.assignment(), timeout=20)
        positions = {tp.partition: (tp.offset if tp.offset >= 0 else 0) for tp in committed}
        for part, off in positions.items():
            c.seek(TopicPartition(req['input'], part, off))
    else:
        # Start from the group's committed offsets (none at first: the beginning).
        committed = c.committed([TopicPartition(req['input'], p) for p in range(n)], timeout=20)
        positions = {tp.partition: (tp.offset if tp.offset >= 0 else 0) for tp in committed}
        c.assign([TopicPartition(req['input'], part, off) for part, off in positions.items()])
    p = producer(bootstrap, req['transactional_id'], **{
        'reconnect.backoff.ms': 100, 'reconnect.backoff.max.ms': 500, **req.get('config', {})})
    retrying(lambda: p.init_transactions(30), 'init', deadline)
    txns = aborts = forced_aborts = 0
    done = {part: 0 for part in range(n)}
    errors = []

    def rewind(parts):
        for part in parts:
            c.seek(TopicPartition(req['input'], part, positions[part]))

    while time.time() < deadline and any(done[part] < expected for part in range(n)):
        data = [m for m in c.consume(batch, 0.5) if not m.error()]
        if not data:
            continue
        offsets = {}
        counts = {}
        for m in data:
            offsets[m.partition()] = m.offset() + 1
            counts[m.partition()] = counts.get(m.partition(), 0) + 1
        txns += 1
        inject = bool(abort_every and txns % abort_every == 0)
        try:
            p.begin_transaction()
            for m in data:
                p.produce(req['output'], value=b'out:' + m.value(), partition=m.partition())
            tps = [TopicPartition(req['input'], part, off) for part, off in offsets.items()]
            retrying(lambda: p.send_offsets_to_transaction(tps, c.consumer_group_metadata(), 30), 'send_offsets', deadline)
            if inject:
                p.flush(30)  # the aborted records reach the log (librdkafka would purge unsent ones)
                retrying(lambda: p.abort_transaction(30), 'abort', deadline)
                aborts += 1
                rewind(offsets)
            else:
                retrying(lambda: p.commit_transaction(30), 'commit', deadline)
                positions.update(offsets)
                for part, k in counts.items():
                    done[part] += k
        except KafkaException as e:
            err = e.args[0]
            if err.fatal() or not err.txn_requires_abort():
                errors.append('%s (fatal=%s)' % (err, err.fatal()))
                break
            # E.g. the broker died under a produce: abort this attempt and redo it.
            retrying(lambda: p.abort_transaction(30), 'abort', deadline)
            forced_aborts += 1
            rewind(offsets)
        out({'txns': txns, 'committed_records': sum(done.values())})
    c.close()
    out({'transactions': txns, 'aborts': aborts, 'forced_aborts': forced_aborts, 'records': sum(done.values()),
         'positions': positions, 'errors': errors, 'done': all(done[part] >= expected for part in range(n))})


def cmd_fence(bootstrap, req):
    topic = req['topic']
    a = producer(bootstrap, req['transactional_id'])
    a.init_transactions(30)
    a.begin_transaction()
    a.produce(topic, value=b'from-a', partition=0)
    a.flush(10)
    b = producer(bootstrap, req['transactional_id'])
    b.init_transactions(30)
    result = {}
    try:
        a.produce(topic, value=b'from-a-after-fence', partition=0)
        a.commit_transaction(15)
        result['a_commit'] = 'ok'
    except KafkaException as e:
        err = e.args[0]
        result['a_commit'] = err.name()
        result['a_fatal'] = err.fatal()
        result['a_abortable'] = err.txn_requires_abort()
    b.begin_transaction()
    b.produce(topic, value=b'from-b', partition=0)
    b.commit_transaction(30)
    result['b_commit'] = 'ok'
    out(result)


if __name__ == '__main__':
    command, bootstrap = sys.argv[1], sys.argv[2]
    request = json.loads(sys.stdin.read() or '{}')
    {'produce': cmd_produce, 'consume': cmd_consume, 'ctp': cmd_ctp, 'committed': cmd_committed, 'fence': cmd_fence}[command](bootstrap, request)
