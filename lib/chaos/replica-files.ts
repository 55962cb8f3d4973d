/**
 * Reads every replica's log files from a stopped node's data directory, for the checker.
 *
 * Layout (lib/storage/segment-log.ts): segment files `<first Raft index, 20 digits>.log` of
 * Kafka record batches v2 back to back, one batch per Raft entry, the term in
 * partitionLeaderEpoch. Partitions live in `<dataDir>/partitions/<topic>-<partition>.<topicId>/log/`
 * ('batch' format: baseOffset is the Kafka offset), except the internal `__consumer_offsets`
 * partitions, whose entries are 'opaque' like the metadata log in `<dataDir>/metadata/log/`
 * (baseOffset is the Raft index; the records are not Kafka values, so they are not decoded). Each batch is checked (length, magic, CRC-32C,
 * header); a bad batch with nothing valid after it in the last segment is a torn tail, anything
 * else is reported as a problem below the recovery point. Reading goes on after a bad batch whose
 * length is plausible (a CRC mismatch), else stops at it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BatchHeader, checkBatch, decodeRecords } from '../records/batch.js';
import type { FileProblem, ReplicaBatch, ReplicaLog } from './history.js';

const SEGMENT_RE = /^\d{20}\.log$/;
const PARTITION_DIR_RE = /^(.+)-(\d+)\.([^.]+)$/;

/** Reads one log directory (segment files in order); `values`: decode each data record's value. */
export function readLogDir(dir: string, values = true): { batches: ReplicaBatch[]; problems: FileProblem[] } {
  const batches: ReplicaBatch[] = [];
  const problems: FileProblem[] = [];
  if (!existsSync(dir)) return { batches, problems };
  const files = readdirSync(dir).filter((f) => SEGMENT_RE.test(f)).sort();
  files.forEach((file, fileIndex) => {
    const buf = readFileSync(join(dir, file));
    const lastFile = fileIndex === files.length - 1;
    let pos = 0;
    while (pos < buf.length) {
      const bad = checkBatch(buf, pos);
      if (bad === null) {
        const size = buf.readInt32BE(pos + 8) + 12;
        const bytes = buf.subarray(pos, pos + size);
        batches.push(toBatch(bytes, values));
        pos += size;
        continue;
      }
      // Can we step over it? Only when its length is plausible and something valid follows.
      const size = buf.length - pos >= 12 ? buf.readInt32BE(pos + 8) + 12 : -1;
      const canSkip = bad.problem === 'crc' && size > 0 && pos + size <= buf.length;
      const validAfter = canSkip && (pos + size === buf.length ? !lastFile : checkBatch(buf, pos + size) === null);
      problems.push({ file: join(dir, file), position: pos, problem: bad.problem, message: bad.message, tail: lastFile && !validAfter });
      if (!canSkip) break;
      pos += size;
    }
  });
  return { batches, problems };
}

function toBatch(bytes: Buffer, values: boolean): ReplicaBatch {
  const h = new BatchHeader(bytes);
  const records: [number, string][] = [];
  if (values && !h.isControl && h.compression === 0) {
    try {
      for (const r of decodeRecords(bytes)) records.push([h.baseOffset + r.offsetDelta, r.value === null ? '' : Buffer.from(r.value).toString('utf8')]);
    } catch {
      // A batch that passed its CRC but does not decode: keep it without records (bytes still compared).
    }
  }
  return { baseOffset: h.baseOffset, lastOffset: h.lastOffset, epoch: h.partitionLeaderEpoch, isControl: h.isControl, records, bytes: Buffer.from(bytes) };
}

/** Every partition replica and the metadata log of one node's data directory. */
export function readNodeReplicas(node: number, dataDir: string): ReplicaLog[] {
  const out: ReplicaLog[] = [];
  const partitionsDir = join(dataDir, 'partitions');
  if (existsSync(partitionsDir)) {
    for (const name of readdirSync(partitionsDir).sort()) {
      const m = PARTITION_DIR_RE.exec(name);
      if (!m) continue;
      const topic = m[1]!;
      const partition = Number(m[2]);
      // Internal topics (__consumer_offsets) hold opaque entries, not Kafka values.
      const { batches, problems } = readLogDir(join(partitionsDir, name, 'log'), !topic.startsWith('__'));
      out.push({ node, group: `${topic}-${partition}`, topic, partition, batches, problems });
    }
  }
  const meta = readLogDir(join(dataDir, 'metadata', 'log'), false);
  out.push({ node, group: 'metadata', topic: null, partition: null, batches: meta.batches, problems: meta.problems });
  return out;
}
