"""kafka-python (Debian's python3-kafka 2.0.2) against a Flotilla cluster: admin, produce, group
consume, committed offsets. Prints one JSON object; spec/e2e/python-client.spec.ts checks it.

kafka-python 2.0.2 does not skip control batches (fixed in 2.1, dpkp/kafka-python#2499), so it
would hand the application any Flotilla control record served (key 00 00 7f xx). A topic created
with dense offsets (offset layout 2) serves none: its Raft no-ops take no offset and are never
served. They are counted apart here, so the spec can check that there are none.
"""
import json
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

brokers = sys.argv[1].split(',')
topic, group, count = 'py-t', 'py-g', 1000
FLOTILLA_CONTROL_KEY = b'\x00\x00\x7f'

admin = KafkaAdminClient(bootstrap_servers=brokers, request_timeout_ms=20000)
admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])
topics = sorted(admin.list_topics())

producer = KafkaProducer(bootstrap_servers=brokers, acks='all', compression_type='gzip', linger_ms=5, retries=5)
futures = [producer.send(topic, key=b'k%d' % i, value=b'v%d' % i) for i in range(count)]
producer.flush()
acked = sorted((m.partition, m.offset) for m in (f.get(timeout=30) for f in futures))
producer.close()

consumer = KafkaConsumer(topic, bootstrap_servers=brokers, group_id=group, auto_offset_reset='earliest',
                         enable_auto_commit=False, consumer_timeout_ms=15000)
data, control = [], 0
for m in consumer:
    if m.key is not None and len(m.key) == 4 and m.key[:3] == FLOTILLA_CONTROL_KEY:
        control += 1
        continue
    data.append((m.partition, m.offset, m.key.decode(), m.value.decode()))
    if len(data) == count:
        break
consumer.commit()
consumer.close()

groups = sorted(g for g, _ in admin.list_consumer_groups())
committed = {str(tp.partition): om.offset for tp, om in admin.list_consumer_group_offsets(group).items()}
admin.delete_topics([topic])
admin.close()
print(json.dumps({
    'topics': topics, 'acked': acked, 'consumed': sorted((p, o) for p, o, _, _ in data),
    'values': sorted(f'{k}={v}' for _, _, k, v in data), 'control': control, 'groups': groups, 'committed': committed,
}))
