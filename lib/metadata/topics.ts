/**
 * Topic requests checked against Kafka's rules and the current image, and turned into records: the
 * pure half of CreateTopics / DeleteTopics / CreatePartitions that the controller runs before it
 * appends. Every rejection is a FlotillaError with a message that names the bad value.
 */
import { FlotillaError } from '../base/errors.js';
import type { MetadataImage } from './image.js';
import { assignReplicas, loadOf, partitionsOf, placementNodes } from './placement.js';
import type { MetadataRecord } from './records.js';
import { RecordLimits, isUuid, topicNameProblem } from './records.js';

/** Throws INVALID_TOPIC unless `name` is a legal Kafka topic name. */
export function validateTopicName(name: string): void {
  const problem = topicNameProblem(name);
  if (problem !== null) throw new FlotillaError('INVALID_TOPIC', `topic name "${name.slice(0, 300)}" ${problem}`);
}

export interface CreateTopicRequest {
  readonly name: string;
  /** A fresh UUID made by the caller (from its Prng). */
  readonly topicId: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly configs?: ReadonlyMap<string, string>;
}

/**
 * The records that create the topic, with replicas placed on the image's unfenced nodes, counting
 * the replicas already there. Throws INVALID_TOPIC, TOPIC_EXISTS or NOT_ENOUGH_NODES.
 */
export function createTopicRecords(image: MetadataImage, req: CreateTopicRequest): MetadataRecord[] {
  validateTopicName(req.name);
  if (!isUuid(req.topicId)) throw new FlotillaError('INVALID_TOPIC', `topic id "${req.topicId}" is not a UUID`);
  if (image.topicsByName.has(req.name)) throw new FlotillaError('TOPIC_EXISTS', `topic "${req.name}" already exists`, { name: req.name });
  if (image.topicsById.has(req.topicId)) throw new FlotillaError('TOPIC_EXISTS', `topic id ${req.topicId} is taken`, { topicId: req.topicId });
  const assignment = assignReplicas({
    nodes: placementNodes(image),
    partitionCount: req.partitionCount,
    replicationFactor: req.replicationFactor,
    load: loadOf(partitionsOf(image)),
  });
  // New topics number Kafka offsets densely (only client batches and markers take offsets).
  const records: MetadataRecord[] = [{ type: 'Topic', topicId: req.topicId, name: req.name, replicationFactor: req.replicationFactor, offsetLayout: 2 }];
  assignment.forEach((replicas, partition) => records.push({ type: 'Partition', topicId: req.topicId, partition, replicas }));
  for (const [key, value] of [...(req.configs ?? new Map<string, string>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key.length === 0 || key.length > RecordLimits.stringLengthMax || value.length > RecordLimits.configValueLengthMax) {
      throw new FlotillaError('INVALID_CONFIG', `topic "${req.name}": config "${key.slice(0, 100)}" is empty or too long`);
    }
    records.push({ type: 'Config', resourceType: 'topic', resourceName: req.name, key, value });
  }
  return records;
}

/** The record that deletes topic `name`; UNKNOWN_TOPIC if there is none. */
export function deleteTopicRecords(image: MetadataImage, name: string): MetadataRecord[] {
  const topic = image.topicsByName.get(name);
  if (topic === undefined) throw new FlotillaError('UNKNOWN_TOPIC', `topic "${name}" does not exist`, { name });
  return [{ type: 'RemoveTopic', topicId: topic.topicId }];
}

/** Records that grow topic `name` to `partitionCount` partitions (Kafka only grows them). */
export function createPartitionsRecords(image: MetadataImage, name: string, partitionCount: number): MetadataRecord[] {
  const topic = image.topicsByName.get(name);
  if (topic === undefined) throw new FlotillaError('UNKNOWN_TOPIC', `topic "${name}" does not exist`, { name });
  const current = topic.partitions.length;
  if (!Number.isInteger(partitionCount) || partitionCount <= current) {
    throw new FlotillaError('INVALID_TOPIC', `topic "${name}" has ${current} partitions; the new count ${partitionCount} must be larger`);
  }
  const assignment = assignReplicas({
    nodes: placementNodes(image),
    partitionCount: partitionCount - current,
    replicationFactor: topic.replicationFactor,
    load: loadOf(partitionsOf(image)),
  });
  return assignment.map((replicas, i) => ({ type: 'Partition', topicId: topic.topicId, partition: current + i, replicas }));
}
