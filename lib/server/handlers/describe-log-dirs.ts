/**
 * DescribeLogDirs (35): this node's one data directory (where its partition replicas live), the
 * bytes of each replica's segment files, offset lag 0 (Flotilla never has "future" replicas being
 * copied between directories) and, from v4, the volume's total and usable bytes (statfs).
 * kafka-log-dirs asks every broker in turn; each answers for itself.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { describeLogDirsApi } from '../../kafka/describe-log-dirs.js';
import { handler } from '../handler.js';

export const describeLogDirsHandler = handler(describeLogDirsApi, async (ctx, req) => {
  // DESCRIBE on the cluster; else nothing listed (v3+: CLUSTER_AUTHORIZATION_FAILED), as Kafka.
  if (!ctx.authorize('describe', 'cluster', CLUSTER_RESOURCE)) return { throttleTimeMs: 0, errorCode: ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED').errorCode, results: [] };
  const filter = req.topics === null ? null : req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions }));
  const view = await ctx.broker.describeLogDirs(filter);
  if (view.dir === '') return { throttleTimeMs: 0, errorCode: 0, results: [] };
  const topics = new Map<string, { partitionIndex: number; partitionSize: number; offsetLag: number; isFutureKey: boolean }[]>();
  for (const p of view.partitions) {
    const list = topics.get(p.topic) ?? [];
    list.push({ partitionIndex: p.partition, partitionSize: p.bytes, offsetLag: 0, isFutureKey: false });
    topics.set(p.topic, list);
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    results: [{
      errorCode: 0,
      logDir: view.dir,
      topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      totalBytes: view.totalBytes,
      usableBytes: view.usableBytes,
    }],
  };
});
