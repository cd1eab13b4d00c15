"""confluent-kafka-python (librdkafka) client for Ganglion's cluster failure tests.

Usage: cluster_client.py <command> <bootstrap> with a JSON request on stdin.
  produce  {topic, count, first?, partitions?, rate?, config?, progress_every?, flush_s?}
           sends records i = first..first+count-1 ("<i>:" padded) to partition
           i % partitions, at most `rate` records a second (unpaced without
           it); prints {"acked": n, "by_partition": [n0, ...]} progress lines and, last,
           {"acked": n, "acked_ids": [[first, last], ...], "errors": {name: n},
            "first_errors": [...], "fatal", "unflushed", "elapsed_s"}.
  consume  {topic, partitions, timeout_s?}
           reads every partition from offset 0 to its end (assign, no group)
           and prints {"values": {p: [i, ...]}, "offsets": {p: [o, ...]},
           "complete", "errors"}.
  member   {topic, group, config?}
           a consumer group member that commits each record's offset (sync)
           after reading it, until SIGTERM; prints one JSON line per event,
           each with its time "t": {"e": "assign"|"revoke", "p": [...]},
           {"e": "msg", "p", "o", "v"}, {"e": "commit", "p", "o", "ok", "err"?},
           {"e": "error", "err"}, and {"e": "closed"} last.
"""
import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def ranges(ids):
    """Sorted ids as [first, last] runs (an acked list of 20k ints stays small)."""
    runs = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def cmd_produce(bootstrap, req):
    count = req['count']
    partitions = req.get('partitions', 1)
    rate = req.get('rate')
    every = req.get('progress_every', 500)
    state = {'acked': [], 'by_partition': [0] * partitions, 'errors': {}, 'first_errors': [], 'fatal': None, 'last_report': 0}

    def on_error(err):
        # Client-level errors (brokers down, etc.): on stderr, for a failing test's message.
        sys.stderr.write('%.3f error_cb: %s\n' % (time.time(), err))
        if err.fatal():
            state['fatal'] = str(err)

    conf = {
        'bootstrap.servers': bootstrap,
        'acks': 'all',
        'linger.ms': 5,
        'message.timeout.ms': 60000,
        'retry.backoff.ms': 100,
        'reconnect.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
        'topic.metadata.refresh.interval.ms': 1000,
        'error_cb': on_error,
    }
    conf.update(req.get('config', {}))
    p = Producer(conf)

    def on_delivery(err, msg):
        i = int(msg.value().split(b':', 1)[0])
        if err is not None:
            state['errors'][err.name()] = state['errors'].get(err.name(), 0) + 1
            if len(state['first_errors']) < 5:
                state['first_errors'].append('%d: %s' % (i, err.str()))
            return
        state['acked'].append(i)
        state['by_partition'][msg.partition()] += 1
        if len(state['acked']) - state['last_report'] >= every:
            state['last_report'] = len(state['acked'])
            out({'acked': len(state['acked']), 'by_partition': state['by_partition']})

    first = req.get('first', 0)
    start = time.time()
    for n in range(count):
        i = first + n
        while rate:
            # poll returns early when it serves a callback: keep the pace. (A negative
            # timeout would make poll wait for the next event, however long that takes.)
            ahead = start + n / rate - time.time()
            if ahead <= 0:
                break
            p.poll(ahead)
        value = ('%d:' % i).ljust(20, 'x').encode()
        while True:
            try:
                p.produce(req['topic'], value=value, partition=i % partitions, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
        if state['fatal']:
            break
    remaining = p.flush(req.get('flush_s', 90))
    out({'acked': len(state['acked']), 'acked_ids': ranges(state['acked']), 'errors': state['errors'],
         'first_errors': state['first_errors'], 'fatal': state['fatal'], 'unflushed': remaining,
         'elapsed_s': time.time() - start})


def cmd_consume(bootstrap, req):
    topic = req['topic']
    n = req.get('partitions', 1)
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'cluster-test-unused',
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'auto.offset.reset': 'earliest',
        'fetch.wait.max.ms': 100,
        'topic.metadata.refresh.interval.ms': 1000,
    })
    c.assign([TopicPartition(topic, p, 0) for p in range(n)])
    values = {p: [] for p in range(n)}
    offsets = {p: [] for p in range(n)}
    eof = set()
    errors = []
    deadline = time.time() + req.get('timeout_s', 60)
    while len(eof) < n and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                elif len(errors) < 20:
                    errors.append(str(m.error()))
                continue
            eof.discard(m.partition())
            values[m.partition()].append(int(m.value().split(b':', 1)[0]))
            offsets[m.partition()].append(m.offset())
    c.close()
    out({'values': values, 'offsets': offsets, 'complete': len(eof) == n, 'errors': errors})


def cmd_member(bootstrap, req):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    def event(e, **fields):
        out(dict(e=e, t=time.time(), **fields))

    conf = {
        'bootstrap.servers': bootstrap,
        'group.id': req['group'],
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': 6000,
        'heartbeat.interval.ms': 500,
        'fetch.wait.max.ms': 100,
        'topic.metadata.refresh.interval.ms': 1000,
        'reconnect.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
        'error_cb': lambda err: event('error', err=str(err)),
    }
    conf.update(req.get('config', {}))
    c = Consumer(conf)
    c.subscribe([req['topic']],
                on_assign=lambda _c, parts: event('assign', p=[tp.partition for tp in parts]),
                on_revoke=lambda _c, parts: event('revoke', p=[tp.partition for tp in parts]))
    while not stopping:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            event('error', err=str(m.error()))
            continue
        event('msg', p=m.partition(), o=m.offset(), v=int(m.value().split(b':', 1)[0]))
        try:
            c.commit(offsets=[TopicPartition(m.topic(), m.partition(), m.offset() + 1)], asynchronous=False)
            event('commit', p=m.partition(), o=m.offset() + 1, ok=True)
        except KafkaException as e:
            # Not committed (coordinator gone, rebalance): the record may come again.
            event('commit', p=m.partition(), o=m.offset() + 1, ok=False, err=str(e))
    c.close()
    event('closed')


if __name__ == '__main__':
    command, bootstrap = sys.argv[1], sys.argv[2]
    request = json.loads(sys.stdin.read() or '{}')
    {'produce': cmd_produce, 'consume': cmd_consume, 'member': cmd_member}[command](bootstrap, request)
