"""One member of a consumer group, for Ganglion's group interop tests.

Runs a group consumer with confluent-kafka (librdkafka) or kafka-python,
prints JSON lines on stdout -- its assignment after every change, and every
record it reads -- and commits synchronously after each batch it processed.
A line "quit" (or end of input) on stdin makes it commit, leave the group
and exit; kill -9 makes it vanish without leaving.
"""
import argparse
import json
import sys
import threading

stop = threading.Event()


def emit(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def watch_stdin():
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    stop.set()


def run_confluent(args):
    from confluent_kafka import Consumer, KafkaException

    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": args.client_id,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": args.session_ms,
        "heartbeat.interval.ms": min(1000, args.session_ms // 3),
        "partition.assignment.strategy": args.strategy,
        "topic.metadata.refresh.interval.ms": 2000,
    }
    if args.instance:
        conf["group.instance.id"] = args.instance
    consumer = Consumer(conf)
    owned = set()

    def on_assign(_consumer, partitions):
        owned.update(p.partition for p in partitions)
        emit(event="assignment", partitions=sorted(owned))

    def on_revoke(_consumer, partitions):
        owned.difference_update(p.partition for p in partitions)
        emit(event="assignment", partitions=sorted(owned))

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    emit(event="ready")
    while not stop.is_set():
        messages = consumer.consume(num_messages=100, timeout=0.2)
        got = False
        for m in messages:
            if m.error():
                emit(event="error", error=str(m.error()))
                continue
            got = True
            emit(event="record", p=m.partition(), o=m.offset(), v=m.value().decode())
        if got:
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as e:
                emit(event="commit-failed", error=str(e))
    consumer.close()
    emit(event="closed")


def run_kafka_python(args):
    from kafka import KafkaConsumer
    from kafka.consumer.subscription_state import ConsumerRebalanceListener
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
    from kafka.errors import KafkaError

    assignor = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}[args.strategy]
    owned = set()

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            owned.difference_update(tp.partition for tp in revoked)
            emit(event="assignment", partitions=sorted(owned))

        def on_partitions_assigned(self, assigned):
            owned.update(tp.partition for tp in assigned)
            emit(event="assignment", partitions=sorted(owned))

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        client_id=args.client_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=args.session_ms,
        heartbeat_interval_ms=min(1000, args.session_ms // 3),
        partition_assignment_strategy=[assignor],
        metadata_max_age_ms=2000,
    )
    consumer.subscribe([args.topic], listener=Listener())
    emit(event="ready")
    while not stop.is_set():
        batches = consumer.poll(timeout_ms=200)
        got = False
        for tp, records in batches.items():
            for m in records:
                got = True
                emit(event="record", p=tp.partition, o=m.offset, v=m.value.decode())
        if got:
            try:
                consumer.commit()
            except KafkaError as e:
                emit(event="commit-failed", error=str(e))
    consumer.close()
    emit(event="closed")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", choices=["confluent", "kafka-python"], required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--strategy", default="range")
    parser.add_argument("--instance", default=None)
    parser.add_argument("--session-ms", type=int, default=10000)
    parser.add_argument("--client-id", default="groups-member")
    args = parser.parse_args()
    threading.Thread(target=watch_stdin, daemon=True).start()
    if args.lib == "confluent":
        run_confluent(args)
    else:
        run_kafka_python(args)


if __name__ == "__main__":
    main()
