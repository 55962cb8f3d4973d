#!/usr/bin/python3
"""An encoder and decoder Flotilla did not write, for spec/kafka/version-matrix.spec.ts:
kafka-python 2.0.2's protocol classes (Debian python3-kafka), driven in one batch per call.

stdin, one JSON object:
  {"op": "encode", "cases": [{"module": "metadata", "cls": "MetadataRequest", "version": 4,
                              "correlationId": 7, "clientId": "kp"}]}
    -> [{"frame": hex of header v1 + body (no size prefix), "leaves": [...]} | {"error": "..."}]
       The request's values are generated from the class's SCHEMA: every int distinct (a counter),
       strings "t" for a field named like a topic (so that handlers find the spec's topic) and
       "s<n>" otherwise, arrays of two, bytes of three.
  {"op": "decode", "cases": [{"module": "metadata", "cls": "MetadataRequest", "version": 4,
                              "body": hex of the response body (after the response header)}]}
       decoded with the request class's RESPONSE_TYPE, as kafka-python's client does (its
       response lists are not always right: AlterConfigsResponse[1] is AlterConfigsRequest_v1).
    -> [{"leaves": [...], "consumed": n, "total": n} | {"error": "..."}]
Leaves flatten a value in wire order: ["int16", 5], ["string", "t"], ["bytes", "0a0a0a"],
["bool", true], ["array", 2] followed by the items, ["null"] for a null string, bytes or array.
"""
import importlib
import io
import json
import sys

from kafka.protocol.api import RequestHeader
from kafka.protocol.types import Array, Boolean, Bytes, Int8, Int16, Int32, Int64, Schema, String

INTS = {Int8: ('int8', 100), Int16: ('int16', 30000), Int32: ('int32', 2 ** 31 - 1), Int64: ('int64', 2 ** 53)}


def class_for(module, name, version):
    classes = getattr(importlib.import_module('kafka.protocol.' + module), name)
    # A few lists hold a class under a later index than its API_VERSION (ListGroups 'v2' sends 1).
    for c in classes:
        if c.API_VERSION == version:
            return c
    raise KeyError('%s has no version %d' % (name, version))


def encodable(t, items):
    try:
        t.encode(items)
        return True
    except Exception:
        return False


class Gen(object):
    def __init__(self):
        self.n = 0

    def value(self, t, name):
        self.n += 1
        n = self.n
        if t in INTS:
            return 1 + n % (INTS[t][1] - 1)
        if isinstance(t, String):
            return 't' if 'topic' in name else 's%d' % n
        if t is Bytes:
            return bytes([n % 256]) * 3
        if t is Boolean:
            return n % 2 == 1
        if isinstance(t, Array):
            # Some 2.0.2 schemas hold the String class where an instance belongs (Fetch v7+
            # forgotten_topics_data): kafka-python itself can only send such an array empty.
            try:
                items = [self.value(t.array_of, name) for _ in range(2)]
            except TypeError:
                return []
            return items if encodable(t, items) else []
        if isinstance(t, Schema):
            return tuple(self.value(ft, fn) for fn, ft in zip(t.names, t.fields))
        raise TypeError('no generator for %r' % (t,))


def leaves(t, v, out):
    if t in INTS:
        out.append([INTS[t][0], v])
    elif isinstance(t, String):
        out.append(['null'] if v is None else ['string', v])
    elif t is Bytes:
        out.append(['null'] if v is None else ['bytes', v.hex()])
    elif t is Boolean:
        out.append(['bool', bool(v)])
    elif isinstance(t, Array):
        if v is None:
            out.append(['null'])
        else:
            out.append(['array', len(v)])
            for item in v:
                leaves(t.array_of, item, out)
    elif isinstance(t, Schema):
        for i, ft in enumerate(t.fields):
            leaves(ft, v[i], out)
    else:
        raise TypeError('no leaves for %r' % (t,))
    return out


def encode(case):
    cls = class_for(case['module'], case['cls'], case['version'])
    values = Gen().value(cls.SCHEMA, '')
    request = cls(*values)
    header = RequestHeader(request, correlation_id=case['correlationId'], client_id=case['clientId'])
    frame = header.encode() + request.encode()
    return {'frame': frame.hex(), 'leaves': leaves(cls.SCHEMA, values, [])}


def decode(case):
    cls = class_for(case['module'], case['cls'], case['version']).RESPONSE_TYPE
    body = bytes.fromhex(case['body'])
    data = io.BytesIO(body)
    decoded = cls.SCHEMA.decode(data)
    return {'leaves': leaves(cls.SCHEMA, decoded, []), 'consumed': data.tell(), 'total': len(body)}


def main():
    msg = json.load(sys.stdin)
    op = {'encode': encode, 'decode': decode}[msg['op']]
    out = []
    for case in msg['cases']:
        try:
            out.append(op(case))
        except Exception as e:  # reported per case: the spec names the API and version
            out.append({'error': '%s: %s' % (type(e).__name__, e)})
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
