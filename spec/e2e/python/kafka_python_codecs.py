"""kafka-python (Debian's python3-kafka 2.0.2, with python3-snappy, python3-lz4 and
python3-zstandard) on a compacted topic per codec: it produces 200 keys x 10 rounds compressed with
the codec (snappy: xerial-framed, as kafka-python writes it), then reads the partition from the
beginning until the cleaner has rewritten it to the latest value of each key, or a deadline.
Prints one JSON object per codec; spec/e2e/retention.spec.ts checks them.

kafka-python 2.0.2 hands the application control records (it does not skip control batches):
those, Flotilla's Compacted placeholders among them (key 00 00 7f 05), are counted apart.
"""
import json
import os
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

brokers = sys.argv[1].split(',')
deadline_s = float(sys.argv[2]) if len(sys.argv) > 2 else 90
admin = KafkaAdminClient(bootstrap_servers=brokers, request_timeout_ms=20000)
for codec in sys.argv[3].split(',') if len(sys.argv) > 3 else ['snappy', 'lz4', 'zstd']:
    topic = 'py-cmp-' + codec
    admin.create_topics([NewTopic(topic, 1, 3, topic_configs={'cleanup.policy': 'compact', 'segment.bytes': '16384', 'min.cleanable.dirty.ratio': '0.01'})])
    producer = KafkaProducer(bootstrap_servers=brokers, acks='all', compression_type=codec, linger_ms=20, batch_size=4096, retries=5)
    latest = {}
    for r in range(10):
        for k in range(200):
            value = 'v%d-%d-%s' % (r, k, os.urandom(16).hex())
            producer.send(topic, key=b'k%d' % k, value=value.encode(), partition=0)
            latest['k%d' % k] = value
        producer.flush()
    producer.close()
    end = time.time() + deadline_s
    while True:
        consumer = KafkaConsumer(bootstrap_servers=brokers, auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=3000)
        consumer.assign([TopicPartition(topic, 0)])
        data, control = 0, 0
        seen = {}
        for m in consumer:
            if m.key is not None and len(m.key) == 4 and m.key[:2] == b'\x00\x00':
                control += 1
                continue
            data += 1
            seen[m.key.decode()] = m.value.decode()
        consumer.close()
        right = sum(1 for k, v in latest.items() if seen.get(k) == v)
        if (data == len(latest) and right == len(latest)) or time.time() > end:
            break
        time.sleep(1)
    print(json.dumps({'codec': codec, 'records': data, 'control': control, 'keys': len(seen), 'latest': right, 'wanted': len(latest)}), flush=True)
admin.close()
