"""kafka-python driver for Ganglion's interop tests.

Usage: kafka_python_client.py <command> <bootstrap> with a JSON request on
stdin; prints one JSON object on the last stdout line. Bytes travel as
base64. Consumers use assign() with explicit partitions (group_id=None).
"""
import base64
import json
import os
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic


def b64(b):
    return None if b is None else base64.b64encode(b).decode('ascii')


def unb64(s):
    return None if s is None else base64.b64decode(s)


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def producer(bootstrap, req, **extra):
    conf = dict(bootstrap_servers=bootstrap, acks=req.get('acks', -1), linger_ms=req.get('linger_ms', 5),
                compression_type=req.get('compression'), request_timeout_ms=20000)
    conf.update(extra)
    return KafkaProducer(**conf)


def consumer(bootstrap, req, **extra):
    conf = dict(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset='earliest',
                fetch_max_wait_ms=req.get('fetch_wait_max_ms', 100))
    conf.update(extra)
    return KafkaConsumer(**conf)


def cmd_create_topic(bootstrap, req):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(req['topic'], req.get('partitions', 3), req.get('replication_factor', 1),
                                      topic_configs=req.get('configs', {}))], timeout_ms=10000)
        return {'ok': True}
    except Exception as e:  # noqa: BLE001 - reported to the test
        return {'ok': False, 'error': repr(e)}
    finally:
        admin.close()


def cmd_produce(bootstrap, req):
    jobs = req.get('jobs') or [req]
    results = []
    for job in jobs:
        merged = {**req, **job}
        p = producer(bootstrap, merged)
        futures = []
        for r in job['records']:
            headers = [(n, unb64(v)) for n, v in r.get('headers') or []]
            futures.append(p.send(job['topic'], key=unb64(r['key']), value=unb64(r['value']), headers=headers,
                                  partition=r.get('partition'), timestamp_ms=r.get('timestamp')))
        p.flush(30)
        acks = []
        for f in futures:
            try:
                md = f.get(10)
                acks.append({'error': None, 'partition': md.partition, 'offset': md.offset})
            except Exception as e:  # noqa: BLE001
                acks.append({'error': type(e).__name__, 'partition': -1, 'offset': -1})
        p.close(5)
        results.append({'topic': job['topic'], 'acks': acks})
    return {'results': results} if req.get('jobs') else results[0]


def consume_topic(bootstrap, req, topic, partitions):
    c = consumer(bootstrap, req)
    tps = [TopicPartition(topic, p) for p in partitions]
    c.assign(tps)
    starts = req.get('start_offsets') or {}
    c.seek_to_beginning()
    for tp in tps:
        if str(tp.partition) in starts:
            c.seek(tp, int(starts[str(tp.partition)]))
    ends = c.end_offsets(tps)
    records = []
    deadline = time.time() + req.get('timeout_s', 15)
    while time.time() < deadline and any(c.position(tp) < ends[tp] for tp in tps):
        for tp, msgs in c.poll(200).items():
            for m in msgs:
                records.append({'partition': m.partition, 'offset': m.offset, 'timestamp': m.timestamp,
                                'key': b64(m.key), 'value': b64(m.value),
                                'headers': [[n, b64(v)] for n, v in (m.headers or [])]})
    complete = all(c.position(tp) >= ends[tp] for tp in tps)
    c.close()
    return {'records': records, 'complete': complete, 'errors': []}


def cmd_consume(bootstrap, req):
    if req.get('jobs'):
        return {'results': [dict(consume_topic(bootstrap, req, j['topic'], j['partitions']), topic=j['topic']) for j in req['jobs']]}
    return consume_topic(bootstrap, req, req['topic'], req['partitions'])


def cmd_offsets_for_times(bootstrap, req):
    """For each timestamp in req['timestamps']: the offsets_for_times answer of every partition."""
    c = consumer(bootstrap, req)
    answers = []
    for ts in req['timestamps']:
        found = c.offsets_for_times({TopicPartition(req['topic'], p): ts for p in req['partitions']})
        answers.append([{'partition': tp.partition, 'offset': None if v is None else v.offset,
                         'timestamp': None if v is None else v.timestamp} for tp, v in sorted(found.items())])
    c.close()
    return {'answers': answers}


def cmd_watermarks(bootstrap, req):
    c = consumer(bootstrap, req)
    tps = [TopicPartition(req['topic'], p) for p in req['partitions']]
    low, high = c.beginning_offsets(tps), c.end_offsets(tps)
    c.close()
    return {'watermarks': [{'partition': tp.partition, 'low': low[tp], 'high': high[tp]} for tp in tps]}


def cmd_describe_configs(bootstrap, req):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    kind = ConfigResourceType.TOPIC if req.get('type', 'topic') == 'topic' else ConfigResourceType.BROKER
    responses = admin.describe_configs([ConfigResource(kind, req['name'])], include_synonyms=True)
    admin.close()
    configs = {}
    for response in responses:
        for error_code, error_message, rtype, rname, entries in response.resources:
            if error_code:
                return {'error': error_code, 'message': error_message}
            for e in entries:
                # v1+: (name, value, read_only, config_source, is_sensitive, synonyms)
                configs[e[0]] = {'value': e[1], 'read_only': e[2], 'source': e[3], 'sensitive': e[4],
                                 'is_default': e[3] == 5}
    return {'configs': configs, 'version': response.API_VERSION}


def cmd_oversize(bootstrap, req):
    p = producer(bootstrap, req, max_request_size=10_000_000, retries=0, request_timeout_ms=15000)
    started = time.time()
    result = {}
    try:
        md = p.send(req['topic'], key=b'big', value=b'x' * req['size'], partition=req.get('partition', 0)).get(20)
        result['error'] = None
        result['offset'] = md.offset
    except Exception as e:  # noqa: BLE001
        result['error'] = type(e).__name__
        result['errno'] = getattr(e, 'errno', None)
    result['elapsed_ms'] = (time.time() - started) * 1000
    try:
        result['after'] = p.send(req['topic'], key=b'small', value=b'ok', partition=req.get('partition', 0)).get(10).offset
    except Exception as e:  # noqa: BLE001
        result['after'] = type(e).__name__
    p.close(5)
    return result


def cmd_latency(bootstrap, req):
    topic, partition = req['topic'], req.get('partition', 0)
    c = consumer(bootstrap, req, fetch_max_wait_ms=req.get('fetch_wait_max_ms', 5000))
    tp = TopicPartition(topic, partition)
    c.assign([tp])
    c.seek_to_end(tp)
    c.position(tp)
    for _ in range(3):  # a few empty long polls: the consumer is now waiting at the broker
        c.poll(200)
    p = producer(bootstrap, req, linger_ms=0)
    p.partitions_for(topic)
    time.sleep(req.get('settle_s', 0.3))
    sent = time.time()
    p.send(topic, key=b'ping', value=b'pong', partition=partition)
    got = None
    while time.time() < sent + 10:
        if c.poll(50):
            got = time.time()
            break
    p.flush(10)
    # Closing would wait out the consumer's next parked fetch (fetch_max_wait_ms): report and leave.
    out({'latency_ms': None if got is None else (got - sent) * 1000})
    os._exit(0)


COMMANDS = {name[4:]: fn for name, fn in globals().items() if name.startswith('cmd_')}

if __name__ == '__main__':
    command, bootstrap = sys.argv[1], sys.argv[2]
    out(COMMANDS[command](bootstrap, json.loads(sys.stdin.read() or '{}')))
