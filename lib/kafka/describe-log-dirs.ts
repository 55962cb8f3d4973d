/**
 * DescribeLogDirs (key 35): the log directories of the broker answering, with the size of each
 * partition replica in them (kafka-log-dirs, AdminClient.describeLogDirs). Implemented v0-v4
 * (flexible from v2).
 *
 * Request:  v0 topics (null: every partition); v1 same as v0; v2 flexible; v3 same as v2;
 *           v4 same as v3.
 * Response: v0 per-directory results; v1 same; v2 flexible; v3 a top-level errorCode;
 *           v4 totalBytes and usableBytes of each directory's volume.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  nf('topics', array(struct([
    f('topic', string, '0+'),
    f('partitions', array(int32), '0+'),
  ])), '0+', '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '3+'),
  f('results', array(struct([
    f('errorCode', int16, '0+'),
    f('logDir', string, '0+'),
    f('topics', array(struct([
      f('name', string, '0+'),
      f('partitions', array(struct([
        f('partitionIndex', int32, '0+'),
        f('partitionSize', int64, '0+'),
        f('offsetLag', int64, '0+'),
        f('isFutureKey', bool, '0+'),
      ])), '0+'),
    ])), '0+'),
    f('totalBytes', int64, '4+', { default: -1 }),
    f('usableBytes', int64, '4+', { default: -1 }),
  ])), '0+'),
]);

export type DescribeLogDirsRequest = ValueOf<typeof request>;
export type DescribeLogDirsResponse = ValueOf<typeof response>;

export const describeLogDirsApi = defineApi({
  apiKey: 35, name: 'DescribeLogDirs', minVersion: 0, maxVersion: 4, flexibleFrom: 2, request, response,
});
