"""kafka-python (Debian's python3-kafka 2.0.2) with SASL (its SaslHandshake v0 and raw tokens), over
SASL_PLAINTEXT or SASL_SSL. Prints one JSON object; spec/e2e/security.spec.ts checks it.

argv: MODE BOOTSTRAP PROTOCOL MECHANISM USER PASSWORD_FILE CAFILE TOPIC [COUNT | GROUP]
  MODE produce: send COUNT records with acks=all -> {"acked": n} or {"error": "ExceptionClass"}
  MODE consume: read in GROUP until no record for 5 s -> {"values": [...]} or {"error": ...}
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer

mode, brokers, protocol, mechanism, user, password_file, cafile, topic = sys.argv[1:9]
with open(password_file) as f:
    password = f.readline().rstrip('\n')
security = {'security_protocol': protocol, 'sasl_mechanism': mechanism,
            'sasl_plain_username': user, 'sasl_plain_password': password}
if protocol == 'SASL_SSL':
    security['ssl_cafile'] = cafile

try:
    if mode == 'produce':
        count = int(sys.argv[9])
        producer = KafkaProducer(bootstrap_servers=brokers.split(','), acks='all', retries=0, request_timeout_ms=20000,
                                 max_block_ms=20000, **security)
        futures = [producer.send(topic, value=b'py%d' % i) for i in range(count)]
        producer.flush()
        acked = [f.get(timeout=30) for f in futures]
        producer.close()
        print(json.dumps({'acked': len(acked)}))
    else:
        consumer = KafkaConsumer(topic, bootstrap_servers=brokers.split(','), group_id=sys.argv[9], auto_offset_reset='earliest',
                                 enable_auto_commit=False, consumer_timeout_ms=5000, **security)
        values = [m.value.decode() for m in consumer]
        consumer.close()
        print(json.dumps({'values': values}))
except Exception as e:  # the spec checks the class name Kafka's error maps to
    cause = getattr(e, 'args', [None])
    print(json.dumps({'error': type(e).__name__, 'detail': str(e)[:300], 'cause': [type(c).__name__ for c in cause if isinstance(c, Exception)]}))
