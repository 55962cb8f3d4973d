"""kafka-python (Debian's python3-kafka 2.0.2) over an SSL listener: produce with acks=all, then read
back in a consumer group (FindCoordinator must answer with the SSL endpoint). Prints one JSON
object; spec/e2e/tls.spec.ts checks it.

argv: BOOTSTRAP CAFILE TOPIC COUNT [CERTFILE KEYFILE]
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer

brokers, cafile, topic, count = sys.argv[1].split(','), sys.argv[2], sys.argv[3], int(sys.argv[4])
tls = {'security_protocol': 'SSL', 'ssl_cafile': cafile}
if len(sys.argv) > 6:
    tls.update(ssl_certfile=sys.argv[5], ssl_keyfile=sys.argv[6])

producer = KafkaProducer(bootstrap_servers=brokers, acks='all', retries=5, request_timeout_ms=20000, **tls)
futures = [producer.send(topic, key=b'k%d' % i, value=b'py%d' % i) for i in range(count)]
producer.flush()
acked = sorted((m.partition, m.offset) for m in (f.get(timeout=30) for f in futures))
producer.close()

consumer = KafkaConsumer(topic, bootstrap_servers=brokers, group_id='py-tls', auto_offset_reset='earliest',
                         enable_auto_commit=False, consumer_timeout_ms=15000, **tls)
values = []
for m in consumer:
    values.append(m.value.decode())
    if len([v for v in values if v.startswith('py')]) == count:
        break
consumer.commit()
consumer.close()
print(json.dumps({'acked': len(acked), 'values': sorted(v for v in values if v.startswith('py'))}))
