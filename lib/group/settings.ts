/**
 * The group coordinator's settings (Kafka's broker names in the docs). Validated once by
 * `GroupCoordinator`'s constructor; INVALID_CONFIG names the setting.
 */
import type { SettingsOf } from '../base/settings.js';

export const groupCoordinatorSettings = {
  offsetsTopicPartitions: {
    type: 'int', default: 50, min: 1, max: 1000,
    doc: 'partitions of the internal offsets topic (offsets.topic.num.partitions); the coordinator of group G leads partition hash(G) mod this',
  },
  groupMinSessionTimeoutMs: {
    type: 'int', default: 6_000, min: 1, max: 3_600_000, unit: 'ms',
    doc: 'smallest session timeout a member may ask for (group.min.session.timeout.ms); below it JoinGroup gets INVALID_SESSION_TIMEOUT',
  },
  groupMaxSessionTimeoutMs: {
    type: 'int', default: 1_800_000, min: 1, max: 3_600_000, unit: 'ms',
    doc: 'largest session timeout a member may ask for (group.max.session.timeout.ms)',
  },
  groupInitialRebalanceDelayMs: {
    type: 'int', default: 3_000, min: 0, max: 300_000, unit: 'ms',
    doc: 'how long the first rebalance of an empty group waits for more members (group.initial.rebalance.delay.ms)',
  },
  groupMaxSize: {
    type: 'int', default: 1_000, min: 1, max: 100_000,
    doc: 'most members (joined or pending) in one group (group.max.size); beyond it JoinGroup gets GROUP_MAX_SIZE_REACHED',
  },
  offsetMetadataMaxBytes: {
    type: 'int', default: 4_096, min: 0, max: 1_048_576, unit: 'bytes',
    doc: 'largest metadata string of a committed offset (offset.metadata.max.bytes); above it OFFSET_METADATA_TOO_LARGE',
  },
  offsetsRetentionMs: {
    type: 'int', default: 7 * 24 * 3_600_000, min: 1, max: Number.MAX_SAFE_INTEGER, unit: 'ms',
    doc: 'how long committed offsets of a group without members are kept, from when it became empty (offsets.retention.minutes)',
  },
  offsetsRetentionCheckIntervalMs: {
    type: 'int', default: 600_000, min: 1, max: 86_400_000, unit: 'ms',
    doc: 'how often expired offsets are looked for (offsets.retention.check.interval.ms)',
  },
} as const;

export type GroupCoordinatorSettings = SettingsOf<typeof groupCoordinatorSettings>;
