/**
 * Membership changes, one server at a time. A Config entry's data is an encoded ConfigChange:
 * byte 0 = format version (1), byte 1 = ConfigChangeType, bytes 2..5 = node id (uint32 BE).
 */
import { FlotillaError } from '../../base/errors.js';
import { ConfigChangeType, type ConfigChange, type Membership, type NodeId } from './types.js';

export function encodeConfigChange(change: ConfigChange): Uint8Array {
  const out = new Uint8Array(6);
  out[0] = 1;
  out[1] = change.type;
  new DataView(out.buffer).setUint32(2, change.node);
  return out;
}

export function decodeConfigChange(data: Uint8Array): ConfigChange {
  if (data.byteLength !== 6 || data[0] !== 1 || (data[1] ?? 255) > 3) {
    throw new FlotillaError('CORRUPT', `bad config change entry (${data.byteLength} bytes)`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { type: data[1] as ConfigChangeType, node: view.getUint32(2) };
}

/** The membership after `change`, or an INVALID error saying why it does not apply. */
export function applyConfigChange(m: Membership, change: ConfigChange): Membership {
  const { node } = change;
  const isVoter = m.voters.includes(node);
  const isLearner = m.learners.includes(node);
  const invalid = (why: string): never => {
    throw new FlotillaError('CONFIG_CHANGE_INVALID', `${why} (node ${node})`);
  };
  if (!Number.isInteger(node) || node <= 0 || node > 0xffffffff) invalid('node ids are positive 32-bit integers');
  switch (change.type) {
    case ConfigChangeType.AddLearner:
      if (isVoter || isLearner) invalid('already a member');
      return freeze(m.voters, [...m.learners, node]);
    case ConfigChangeType.AddVoter:
      if (isVoter || isLearner) invalid('already a member');
      return freeze([...m.voters, node], m.learners);
    case ConfigChangeType.PromoteLearner:
      if (!isLearner) invalid('not a learner');
      return freeze([...m.voters, node], m.learners.filter((n) => n !== node));
    case ConfigChangeType.Remove:
      if (!isVoter && !isLearner) invalid('not a member');
      if (isVoter && m.voters.length === 1) invalid('cannot remove the last voter');
      return freeze(m.voters.filter((n) => n !== node), m.learners.filter((n) => n !== node));
    default:
      return invalid(`unknown change type ${String((change as ConfigChange).type)}`);
  }
}

export function membershipOf(voters: readonly NodeId[], learners: readonly NodeId[] = []): Membership {
  return freeze(voters, learners);
}

function freeze(voters: readonly NodeId[], learners: readonly NodeId[]): Membership {
  return Object.freeze({
    voters: Object.freeze([...voters].sort((a, b) => a - b)),
    learners: Object.freeze([...learners].sort((a, b) => a - b)),
  });
}

export function isMember(m: Membership, node: NodeId): boolean {
  return m.voters.includes(node) || m.learners.includes(node);
}

export function quorumOf(m: Membership): number {
  return Math.floor(m.voters.length / 2) + 1;
}
