"""kafka-python (Debian's python3-kafka 2.0.2) producing flat out under a producer_byte_rate quota,
for spec/e2e/quotas.spec.ts. kafka-python 2.0.2 reads throttle_time_ms but does not wait for it: it
keeps sending, so only the broker's muting of the connection (KIP-219) holds it to its quota.

Arguments: brokers topic client_id seconds value_bytes. Sends until `seconds` have passed, then
prints one JSON object {acked, failed}; the spec measures the rate on the broker (end offsets).
"""
import json
import sys
import time

from kafka import KafkaProducer

brokers, topic, client_id = sys.argv[1].split(','), sys.argv[2], sys.argv[3]
seconds, value_bytes = float(sys.argv[4]), int(sys.argv[5])
# A muted connection holds requests for as long as the throttle (up to ~10 s after the first
# windows' burst): timeouts above that, so that muting is not mistaken for a dead broker.
producer = KafkaProducer(bootstrap_servers=brokers, client_id=client_id, acks=1, linger_ms=5, batch_size=262144,
                         max_request_size=1048576, buffer_memory=4194304, request_timeout_ms=60000, max_block_ms=60000, retries=0)
value = b'p' * value_bytes
acked, failed = [0], [0]


def ok(_):
    acked[0] += 1


def bad(_):
    failed[0] += 1


end = time.time() + seconds
while time.time() < end:
    producer.send(topic, value=value).add_callback(ok).add_errback(bad)
producer.close(timeout=0)
print(json.dumps({'acked': acked[0], 'failed': failed[0]}))
