"""kafka-python 2.0.2 (Debian's python3-kafka) against a topic with dense Kafka offsets (offset
layout 2): spec/e2e/dense-offsets.spec.ts runs it, one mode per process, and checks its JSON.

  produce BROKERS TOPIC FIRST COUNT PARTITIONS  values str(i) for i in FIRST..FIRST+COUNT-1, to
                                                 partition i % PARTITIONS, acks=all; prints the
                                                 acknowledged [value, partition, offset]
  group BROKERS TOPIC GROUP TOTAL                two KafkaConsumer members of GROUP, one thread each,
                                                 read until TOTAL records between them (or time out)
  assign BROKERS TOPIC PARTITIONS TOTAL          one consumer, assign() every partition,
                                                 seek_to_beginning(), read until TOTAL records

The readers print [partition, offset, value] for every record handed over, and every value that
does not parse as an integer (a control record or an empty value served by mistake: int(value)
is what crashed kafka-python 2.0.2 clients before offset layout 2) in 'foreign', so the spec can
say which partitions and offsets are missing or extra.
"""
import json
import sys
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

READ_TIMEOUT_S = 60


def record(m, foreign):
    try:
        value = int(m.value.decode())
    except (AttributeError, ValueError, UnicodeDecodeError):
        foreign.append([m.partition, m.offset, None if m.value is None else m.value.hex(), None if m.key is None else m.key.hex()])
        return None
    return [m.partition, m.offset, value]


def produce(brokers, topic, first, count, partitions):
    producer = KafkaProducer(bootstrap_servers=brokers, acks='all', retries=20, retry_backoff_ms=200,
                             max_in_flight_requests_per_connection=1, request_timeout_ms=15000, linger_ms=5)
    futures = [(i, producer.send(topic, value=str(i).encode(), partition=i % partitions)) for i in range(first, first + count)]
    producer.flush(timeout=60)
    acked, failed = [], []
    for i, f in futures:
        try:
            md = f.get(timeout=60)
            acked.append([i, md.partition, md.offset])
        except Exception as e:  # a send that failed is reported, not hidden
            failed.append([i, repr(e)])
    producer.close(timeout=10)
    print(json.dumps({'acked': acked, 'failed': failed}))


def group(brokers, topic, group_id, total):
    records, foreign, lock, errors, commit_failures = [], [], threading.Lock(), [], []
    seen = set()
    done = threading.Event()
    per_member = [0, 0]
    shared = [False, False]

    def member(k):
        try:
            c = KafkaConsumer(topic, bootstrap_servers=brokers, group_id=group_id, client_id='dense-%d' % k,
                              auto_offset_reset='earliest', enable_auto_commit=False, session_timeout_ms=10000,
                              heartbeat_interval_ms=1000, max_poll_records=200)
            end = time.time() + READ_TIMEOUT_S
            while not done.is_set() and time.time() < end:
                batch = c.poll(timeout_ms=500)
                if not all(shared):
                    # Until both members hold a share of the partitions, nothing is kept: a member
                    # alone (the other still joining) would read everything. Rewind what came.
                    owned = len(c.assignment())
                    shared[k] = 0 < owned < (len(c.partitions_for_topic(topic) or ()) or owned + 1)
                    for tp, msgs in batch.items():
                        c.seek(tp, msgs[0].offset)
                    continue
                with lock:
                    for msgs in batch.values():
                        for m in msgs:
                            r = record(m, foreign)
                            if r is not None:
                                records.append(r)
                                seen.add((r[0], r[1]))
                                per_member[k] += 1
                    if len(seen) >= total:
                        done.set()
                if batch:
                    try:
                        c.commit()
                    except Exception as e:  # a rebalance between poll and commit: the next owner reads those again
                        commit_failures.append(repr(e))
            c.close()
        except Exception as e:
            errors.append(repr(e))
            done.set()

    threads = [threading.Thread(target=member, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
        time.sleep(1)  # the second joins a group that already has a member: a rebalance between two
    for t in threads:
        t.join()
    print(json.dumps({'records': records, 'foreign': foreign, 'perMember': per_member, 'errors': errors,
                      'commitFailures': commit_failures}))


def assign(brokers, topic, partitions, total):
    c = KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False, max_poll_records=500)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    records, foreign = [], []
    end = time.time() + READ_TIMEOUT_S
    while len(records) < total and time.time() < end:
        for msgs in c.poll(timeout_ms=500).values():
            for m in msgs:
                r = record(m, foreign)
                if r is not None:
                    records.append(r)
    # A short extra poll: anything past TOTAL would be extra.
    for msgs in c.poll(timeout_ms=1000).values():
        for m in msgs:
            r = record(m, foreign)
            if r is not None:
                records.append(r)
    ends = {str(tp.partition): o for tp, o in c.end_offsets(tps).items()}
    c.close()
    print(json.dumps({'records': records, 'foreign': foreign, 'endOffsets': ends}))


mode, brokers = sys.argv[1], sys.argv[2].split(',')
if mode == 'produce':
    produce(brokers, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
elif mode == 'group':
    group(brokers, sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif mode == 'assign':
    assign(brokers, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
else:
    sys.exit('unknown mode ' + mode)
