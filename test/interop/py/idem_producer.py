"""confluent-kafka-python (librdkafka) idempotent producer for Ganglion's interop tests.

Usage: idem_producer.py <command> <bootstrap> with a JSON request on stdin.
  produce  {topic, count, partitions, value_size?, progress_every?, config?}
           sends records i = 0..count-1 to partition i % partitions, value
           "<i>:" padded to value_size; prints {"acked": n} progress lines
           and, last, {"acked", "delivery_errors", "fatal", "elapsed_s"}.
  consume  {topic, partitions, isolation?}
           reads every partition from the beginning to its end and prints
           {"values": {partition: [i, ...]}, "offsets": {partition: [first, last]}}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def cmd_produce(bootstrap, req):
    count = req['count']
    partitions = req['partitions']
    size = req.get('value_size', 20)
    every = req.get('progress_every', 1000)
    state = {'acked': 0, 'errors': [], 'fatal': None, 'last_report': 0}

    def on_error(err):
        if err.fatal():
            state['fatal'] = str(err)

    conf = {
        'bootstrap.servers': bootstrap,
        'enable.idempotence': True,
        'acks': 'all',
        'linger.ms': 5,
        'batch.num.messages': 500,
        'max.in.flight.requests.per.connection': 5,
        'message.timeout.ms': 120000,
        'retry.backoff.ms': 100,
        'reconnect.backoff.ms': 100,
        'reconnect.backoff.max.ms': 500,
        'queue.buffering.max.messages': 200000,
        'error_cb': on_error,
    }
    conf.update(req.get('config', {}))
    p = Producer(conf)

    def on_delivery(err, msg):
        if err is not None:
            if len(state['errors']) < 20:
                state['errors'].append(str(err))
            return
        state['acked'] += 1
        if state['acked'] - state['last_report'] >= every:
            state['last_report'] = state['acked']
            out({'acked': state['acked']})

    start = time.time()
    for i in range(count):
        value = ('%d:' % i).ljust(size, 'x').encode()
        while True:
            try:
                p.produce(req['topic'], value=value, partition=i % partitions, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
        if state['fatal']:
            break
    remaining = p.flush(150)
    out({'acked': state['acked'], 'unflushed': remaining, 'delivery_errors': state['errors'], 'fatal': state['fatal'],
         'elapsed_s': time.time() - start})


def cmd_consume(bootstrap, req):
    topic = req['topic']
    n = req['partitions']
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'idem-interop-unused',
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'auto.offset.reset': 'earliest',
        'isolation.level': req.get('isolation', 'read_committed'),
        'fetch.wait.max.ms': 100,
    })
    c.assign([TopicPartition(topic, p, 0) for p in range(n)])
    values = {p: [] for p in range(n)}
    offsets = {p: [] for p in range(n)}
    eof = set()
    deadline = time.time() + req.get('timeout_s', 60)
    errors = []
    while len(eof) < n and time.time() < deadline:
        for m in c.consume(1000, 1.0):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                else:
                    errors.append(str(m.error()))
                continue
            eof.discard(m.partition())
            values[m.partition()].append(int(m.value().split(b':', 1)[0]))
            offsets[m.partition()].append(m.offset())
    c.close()
    out({'values': values, 'offsets': {p: [o[0], o[-1], len(o)] if o else [] for p, o in offsets.items()},
         'complete': len(eof) == n, 'errors': errors})


if __name__ == '__main__':
    command, bootstrap = sys.argv[1], sys.argv[2]
    request = json.loads(sys.stdin.read() or '{}')
    {'produce': cmd_produce, 'consume': cmd_consume}[command](bootstrap, request)
