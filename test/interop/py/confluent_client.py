"""confluent-kafka-python (librdkafka) driver for Ganglion's interop tests.

Usage: confluent_client.py <command> <bootstrap> with a JSON request on
stdin; prints one JSON object on the last stdout line. Bytes travel as
base64. Consumers use assign() with explicit partitions (no groups).
"""
import base64
import json
import os
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic


def b64(b):
    return None if b is None else base64.b64encode(b).decode('ascii')


def unb64(s):
    return None if s is None else base64.b64decode(s)


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def producer(bootstrap, req, **extra):
    conf = {
        'bootstrap.servers': bootstrap,
        'partitioner': 'murmur2_random',
        'linger.ms': req.get('linger_ms', 5),
        'acks': str(req.get('acks', -1)),
        'compression.type': req.get('compression', 'none'),
        'message.timeout.ms': req.get('message_timeout_ms', 20000),
        'api.version.request': True,
    }
    conf.update(req.get('config', {}))
    conf.update(extra)
    return Producer(conf)


def consumer(bootstrap, req, **extra):
    conf = {
        'bootstrap.servers': bootstrap,
        'group.id': 'interop-unused',  # required by the API; no group calls are made with assign()
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'enable.partition.eof': True,
        'auto.offset.reset': 'earliest',
        'fetch.wait.max.ms': req.get('fetch_wait_max_ms', 100),
    }
    conf.update(req.get('config', {}))
    conf.update(extra)
    return Consumer(conf)


def cmd_create_topic(bootstrap, req):
    admin = AdminClient({'bootstrap.servers': bootstrap})
    topic = NewTopic(req['topic'], req.get('partitions', 3), req.get('replication_factor', 1), config=req.get('configs', {}))
    try:
        admin.create_topics([topic], operation_timeout=10)[req['topic']].result(15)
        return {'ok': True}
    except Exception as e:  # noqa: BLE001 - reported to the test
        return {'ok': False, 'error': str(e)}


def cmd_produce(bootstrap, req):
    """Produces req['records'] (or, per job, several topics/codecs) and reports every acknowledgement in produce order."""
    jobs = req.get('jobs') or [req]
    results = []
    for job in jobs:
        p = producer(bootstrap, {**req, **job})
        acks = [None] * len(job['records'])

        def on_delivery(i):
            def cb(err, msg):
                acks[i] = {'error': err.name() if err else None, 'partition': msg.partition(), 'offset': msg.offset()}
            return cb

        for i, r in enumerate(job['records']):
            kwargs = {'key': unb64(r['key']), 'value': unb64(r['value']), 'on_delivery': on_delivery(i)}
            if r.get('headers'):
                kwargs['headers'] = [(n, unb64(v)) for n, v in r['headers']]
            if r.get('timestamp') is not None:
                kwargs['timestamp'] = r['timestamp']
            if r.get('partition') is not None:
                kwargs['partition'] = r['partition']
            while True:
                try:
                    p.produce(job['topic'], **kwargs)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        remaining = p.flush(30)
        results.append({'topic': job['topic'], 'acks': acks, 'unflushed': remaining})
    return {'results': results} if req.get('jobs') else results[0]


def decode(msg):
    return {
        'partition': msg.partition(),
        'offset': msg.offset(),
        'timestamp': msg.timestamp()[1],
        'key': b64(msg.key()),
        'value': b64(msg.value()),
        'headers': [[n, b64(v)] for n, v in (msg.headers() or [])],
    }


def consume_topic(bootstrap, req, topic, partitions):
    """Reads every partition from its start offset (default: beginning) to the end (partition EOF)."""
    c = consumer(bootstrap, req)
    starts = req.get('start_offsets') or {}
    assignment = []
    for p in partitions:
        if str(p) in starts:
            start = int(starts[str(p)])
        else:  # the log start offset, asked explicitly (assigning BEGINNING costs librdkafka a 500 ms timer)
            start = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[0]
        assignment.append(TopicPartition(topic, p, start))
    c.assign(assignment)
    records, at_eof, errors = [], set(), []
    deadline = time.time() + req.get('timeout_s', 15)
    while len(at_eof) < len(partitions) and time.time() < deadline:
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_eof.add(msg.partition())
            else:
                errors.append(str(msg.error()))
            continue
        at_eof.discard(msg.partition())
        records.append(decode(msg))
    c.close()
    return {'records': records, 'complete': len(at_eof) == len(partitions), 'errors': errors}


def cmd_consume(bootstrap, req):
    if req.get('jobs'):
        return {'results': [dict(consume_topic(bootstrap, req, j['topic'], j['partitions']), topic=j['topic']) for j in req['jobs']]}
    return consume_topic(bootstrap, req, req['topic'], req['partitions'])


def cmd_offsets_for_times(bootstrap, req):
    """For each timestamp in req['timestamps']: the offsets_for_times answer of every partition."""
    c = consumer(bootstrap, req)
    answers = []
    for ts in req['timestamps']:
        found = c.offsets_for_times([TopicPartition(req['topic'], p, ts) for p in req['partitions']], 10)
        answers.append([{'partition': tp.partition, 'offset': tp.offset, 'error': str(tp.error) if tp.error else None} for tp in found])
    c.close()
    return {'answers': answers}


def cmd_watermarks(bootstrap, req):
    c = consumer(bootstrap, req)
    marks = []
    for p in req['partitions']:
        low, high = c.get_watermark_offsets(TopicPartition(req['topic'], p), timeout=10, cached=False)
        marks.append({'partition': p, 'low': low, 'high': high})
    c.close()
    return {'watermarks': marks}


def cmd_describe_configs(bootstrap, req):
    admin = AdminClient({'bootstrap.servers': bootstrap})
    kind = ConfigResource.Type.TOPIC if req.get('type', 'topic') == 'topic' else ConfigResource.Type.BROKER
    resource = ConfigResource(kind, req['name'])
    entries = list(admin.describe_configs([resource])[resource].result(15).values())
    return {'configs': {e.name: {'value': e.value, 'is_default': e.is_default, 'read_only': e.is_read_only,
                                 'sensitive': e.is_sensitive, 'source': int(e.source)} for e in entries}}


def cmd_oversize(bootstrap, req):
    """Produces one record of req['size'] bytes; reports the delivery error and how long it took."""
    p = producer(bootstrap, req, **{'message.max.bytes': 10_000_000, 'message.send.max.retries': 0, 'retries': 0})
    result = {}

    def cb(err, msg):
        result['error'] = err.name() if err else None
        result['code'] = err.code() if err else 0
        result['offset'] = msg.offset()

    started = time.time()
    p.produce(req['topic'], key=b'big', value=b'x' * req['size'], partition=req.get('partition', 0), on_delivery=cb)
    p.flush(req.get('timeout_s', 20))
    result['elapsed_ms'] = (time.time() - started) * 1000
    # A small record afterwards still goes through.
    p.produce(req['topic'], key=b'small', value=b'ok', partition=req.get('partition', 0),
              on_delivery=lambda err, msg: result.__setitem__('after', err.name() if err else msg.offset()))
    p.flush(15)
    return result


def cmd_latency(bootstrap, req):
    """Consumer waits on an empty partition (long fetch wait); a record is produced; how long until it arrives."""
    topic, partition = req['topic'], req.get('partition', 0)
    c = consumer(bootstrap, req, **{'fetch.wait.max.ms': req.get('fetch_wait_max_ms', 5000)})
    _, high = c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10, cached=False)
    c.assign([TopicPartition(topic, partition, high)])
    deadline = time.time() + req.get('settle_s', 1.0)  # metadata, then a fetch that parks at the broker
    while time.time() < deadline:
        msg = c.poll(0.05)
        if msg is not None and not msg.error():
            return {'error': 'unexpected record before the produce'}
    p = producer(bootstrap, req, **{'linger.ms': 0})
    p.list_topics(topic, timeout=10)  # connected and warm before timing
    sent = time.time()
    p.produce(topic, key=b'ping', value=b'pong', partition=partition)
    p.poll(0)
    got = None
    while time.time() < sent + 10:
        msg = c.poll(0.01)
        if msg is not None and not msg.error():
            got = time.time()
            break
    p.flush(10)
    # Closing would wait out the consumer's next parked fetch (fetch.wait.max.ms): report and leave.
    out({'latency_ms': None if got is None else (got - sent) * 1000})
    os._exit(0)


def cmd_load(bootstrap, req):
    """Produces (acks=1) as fast as it can until stdin closes, printing every acknowledged
    record as a 'partition offset seq' line; then waits flush_s for outstanding deliveries."""
    p = producer(bootstrap, req, **{'acks': '1', 'linger.ms': 5, 'batch.num.messages': 2000,
                                    'message.timeout.ms': req.get('message_timeout_ms', 5000),
                                    'queue.buffering.max.messages': 20000})
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    pending = []
    failed = [0]

    def cb(err, msg):
        if err is None:
            pending.append('%d %d %s' % (msg.partition(), msg.offset(), msg.value()[:12].decode()))
        else:
            failed[0] += 1

    def drain():
        if pending:
            sys.stdout.write('\n'.join(pending) + '\n')
            sys.stdout.flush()
            pending.clear()

    pad = b'.' * req.get('value_bytes', 100)
    seq = 0
    while not stop.is_set():
        try:
            p.produce(req['topic'], key=b'k%d' % (seq % 17), value=b'%012d' % seq + pad, on_delivery=cb)
            seq += 1
        except BufferError:
            p.poll(0.005)
            drain()
        if seq % 1000 == 0:
            p.poll(0)
            drain()
    left = p.flush(req.get('flush_s', 1.0))
    drain()
    out({'produced': seq, 'failed': failed[0], 'undelivered': left})
    os._exit(0)  # do not wait for librdkafka to give up on a dead broker


COMMANDS = {name[4:]: fn for name, fn in globals().items() if name.startswith('cmd_')}

if __name__ == '__main__':
    command, bootstrap = sys.argv[1], sys.argv[2]
    request = json.loads(sys.stdin.read() or '{}') if command != 'load' else json.loads(sys.argv[3])
    out(COMMANDS[command](bootstrap, request))
