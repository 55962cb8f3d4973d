# kafka-python 2.0.2 (Debian python3-kafka) as an independent encoder for spec/kafka/kafka-python-compat.spec.ts:
# prints the bodies of the requests below as hex, and decodes the response bodies given on stdin
# ([{cls, hex}]) into plain JSON.
import sys, json
import kafka.protocol.admin as a, kafka.protocol.commit as c
from kafka.protocol.struct import Struct
def plain(v):
    if isinstance(v, Struct): return {n: plain(getattr(v, n)) for n in v.SCHEMA.names}
    if isinstance(v, (list, tuple)): return [plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)): return v.hex()
    return v
out = {'requests': [], 'responses': []}
def req(obj):
    out['requests'].append({'cls': type(obj).__name__, 'apiKey': obj.API_KEY, 'apiVersion': obj.API_VERSION, 'hex': obj.encode().hex()})
req(a.CreateTopicsRequest_v0(create_topic_requests=[('t0', 3, 2, [], [('retention.ms', '1000')]), ('m', -1, -1, [(0, [1, 2]), (1, [2, 3])], [])], timeout=5000))
req(a.CreateTopicsRequest_v1(create_topic_requests=[('t1', 1, 1, [], [('cleanup.policy', None)])], timeout=100, validate_only=True))
req(a.CreateTopicsRequest_v2(create_topic_requests=[('t2', 2, 1, [], [])], timeout=100, validate_only=False))
req(a.DeleteTopicsRequest_v0(topics=['x', 'y'], timeout=3000))
req(a.DescribeConfigsRequest_v0(resources=[(2, 't', ['retention.ms']), (4, '1', None)]))
req(a.DescribeGroupsRequest_v0(groups=['g', 'h']))
req(a.DescribeGroupsRequest_v1(groups=['g']))
req(a.DeleteGroupsRequest_v0(groups_names=['g', 'h']))
req(c.OffsetCommitRequest_v0(consumer_group='g', topics=[('t', [(0, 42, 'meta'), (1, 7, '')])]))
req(c.OffsetFetchRequest_v0(consumer_group='g', topics=[('t', [0, 1])]))
classes = {'CreateTopicsResponse_v0': a.CreateTopicsResponse_v0, 'CreateTopicsResponse_v1': a.CreateTopicsResponse_v1,
  'CreateTopicsResponse_v2': a.CreateTopicsResponse_v2, 'DeleteTopicsResponse_v0': a.DeleteTopicsResponse_v0,
  'DescribeConfigsResponse_v0': a.DescribeConfigsResponse_v0, 'DescribeGroupsResponse_v0': a.DescribeGroupsResponse_v0,
  'DescribeGroupsResponse_v1': a.DescribeGroupsResponse_v1, 'DeleteGroupsResponse_v0': a.DeleteGroupsResponse_v0,
  'OffsetCommitResponse_v0': c.OffsetCommitResponse_v0, 'OffsetFetchResponse_v0': c.OffsetFetchResponse_v0}
for r in json.loads(sys.stdin.read() or '[]'):
    out['responses'].append({'cls': r['cls'], 'body': plain(classes[r['cls']].decode(bytes.fromhex(r['hex'])))})
print(json.dumps(out))
