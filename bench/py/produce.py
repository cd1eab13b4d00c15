"""Producer for bench/broker.ts: N records of SIZE bytes, no key, as fast as
confluent-kafka (librdkafka) takes them; prints one JSON line.

  /usr/bin/python3 bench/py/produce.py BOOTSTRAP TOPIC N SIZE [librdkafka.key=value ...]

Timed from the first produce() to the end of flush() (every delivery
report in). Delivery reports are requested for failures only, so the
Python side does no per-record callback work.
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    conf = {'bootstrap.servers': bootstrap, 'delivery.report.only.error': True}
    conf.update(kv.split('=', 1) for kv in sys.argv[5:])
    errors = []
    conf['on_delivery'] = lambda err, msg: errors.append(str(err)) if err is not None else None
    producer = Producer(conf)
    producer.list_topics(topic, timeout=30)  # metadata outside the timed part
    value = (b'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' * (size // 62 + 1))[:size]
    produce = producer.produce
    poll = producer.poll
    started = time.perf_counter()
    for _ in range(n):
        try:
            produce(topic, value)
        except BufferError:  # local queue full: let deliveries drain
            poll(0.005)
            produce(topic, value)
    left = producer.flush(300)
    seconds = time.perf_counter() - started
    print(json.dumps({'records': n - left, 'bytes': (n - left) * size, 'seconds': seconds,
                      'errors': len(errors) + left, 'first_error': errors[0] if errors else None}))


main()
