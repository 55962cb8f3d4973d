"""kafka-python 2.0.2 (Debian's python3-kafka) with a pinned `api_version`, as users of an older
cluster configure it: the producer and the consumer then never send ApiVersions and use the request
versions of that Kafka release (kafka/producer/sender.py, kafka/consumer/fetcher.py,
kafka/coordinator/*.py pick them from the tuple). KafkaAdminClient always probes ApiVersions at
start (admin/client.py calls check_version) and negotiates, whatever api_version says.

Usage: kafka_python_pinned.py BROKERS MAJOR.MINOR.PATCH
Prints one JSON object: each step's result, or its error (the steps go on where they can), so that
the spec can say which operation of which pinned version failed.
"""
import json
import sys
import traceback

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

brokers = sys.argv[1].split(',')
api_version = tuple(int(x) for x in sys.argv[2].split('.'))
tag = sys.argv[2].replace('.', '')
topic, group, count = 'pin-%s' % tag, 'pin-g-%s' % tag, 100
client_id = 'kafka-python-%s' % sys.argv[2]
RAFT_NOOP_KEY = b'\x00\x00\x7f\x01'
out = {'errors': {}}


def step(name, fn):
    try:
        out[name] = fn()
        return True
    except Exception as e:  # noqa: BLE001 -- the spec reports each failed step
        out['errors'][name] = '%s: %s' % (type(e).__name__, e)
        out['errors'][name + '.trace'] = traceback.format_exc()[-1500:]
        return False


common = dict(bootstrap_servers=brokers, client_id=client_id, api_version=api_version, request_timeout_ms=30000)
admin = KafkaAdminClient(**common)


def create():
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])
    return sorted(t for t in admin.list_topics() if t.startswith('pin-'))


def produce(pinned=True):
    config = dict(common) if pinned else dict(common, api_version=None)
    producer = KafkaProducer(acks='all', linger_ms=5, retries=5, **config)
    futures = [producer.send(topic, key=b'k%d' % i, value=b'v%d' % i) for i in range(count)]
    producer.flush()
    acked = sorted([m.partition, m.offset] for m in (f.get(timeout=30) for f in futures))
    producer.close()
    return acked


consumer = None


def consume():
    global consumer
    consumer = KafkaConsumer(topic, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False,
                             consumer_timeout_ms=20000, session_timeout_ms=10000, heartbeat_interval_ms=1000, **common)
    data, control = [], 0
    for m in consumer:
        if m.key == RAFT_NOOP_KEY:
            control += 1
            continue
        data.append([m.partition, m.offset])
        if len(data) == count:
            break
    consumer.commit()
    return sorted(data)


def committed():
    return {str(p): consumer.committed(TopicPartition(topic, p)) for p in range(3)}


def list_offsets():
    tps = [TopicPartition(topic, p) for p in range(3)]
    end = consumer.end_offsets(tps)
    return {str(tp.partition): o for tp, o in end.items()}


def describe_group():
    (d,) = admin.describe_consumer_groups([group])
    return {'group': d.group, 'state': d.state, 'protocol_type': d.protocol_type, 'members': len(d.members)}


def delete():
    admin.delete_topics([topic])
    return True


# A pinned producer the node refuses still leaves the pinned consumer to check: the records then
# come from a producer that negotiates (api_version=None), and 'ackedBy' says which one it was.
if step('created', create) and (step('acked', produce) or step('acked', lambda: produce(pinned=False))):
    out['ackedBy'] = 'negotiating producer' if 'acked' in out['errors'] else 'pinned producer'
    if step('consumed', consume):
        step('committed', committed)
        step('endOffsets', list_offsets)
        step('group', describe_group)
    if consumer is not None:
        consumer.close()
    step('groups', lambda: sorted(g for g, _ in admin.list_consumer_groups()))
    step('deleted', delete)
admin.close()
print(json.dumps(out))
