"""Consumer for bench/broker.ts: reads N records from offset 0 of every
partition of TOPIC (assign(), no group coordination, no commits) and
prints one JSON line.

  /usr/bin/python3 bench/py/consume.py BOOTSTRAP TOPIC PARTITIONS N [librdkafka.key=value ...]

Timed from assign() to the N-th record. Messages are taken in lists of up
to 10000 (consume()); each is checked for an error and its value length
counted, nothing is printed.
"""
import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition


def main():
    bootstrap, topic, partitions, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    conf = {'bootstrap.servers': bootstrap, 'group.id': 'ganglion-bench', 'enable.auto.commit': False,
            'enable.partition.eof': False}
    conf.update(kv.split('=', 1) for kv in sys.argv[5:])
    consumer = Consumer(conf)
    started = time.perf_counter()
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    count = 0
    nbytes = 0
    idle_since = time.perf_counter()
    while count < n:
        msgs = consumer.consume(10000, 1.0)
        if not msgs:
            if time.perf_counter() - idle_since > 30:
                break
            continue
        idle_since = time.perf_counter()
        for m in msgs:
            if m.error() is not None:
                raise SystemExit('consume error: %s' % m.error())
            nbytes += len(m)
        count += len(msgs)
    seconds = time.perf_counter() - started
    consumer.close()
    print(json.dumps({'records': count, 'bytes': nbytes, 'seconds': seconds}))


main()
