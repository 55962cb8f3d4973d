/**
 * Membership changes, one server at a time. A Config entry carries the change AND the whole
 * membership after it (as hashicorp/raft does), so any node, even one that joined with an empty
 * configuration and never saw the group's bootstrap, knows the membership from the latest Config
 * entry in its log alone: no fold over older entries, no base to get wrong.
 *
 * Format (big-endian): u8 version (1) | u8 ConfigChangeType | u32 node |
 *   u16 voter count | u32 voter ids... | u16 learner count | u32 learner ids...
 */
import { FlotillaError } from '../../base/errors.js';
import { ConfigChangeType, type ConfigChange, type Membership, type NodeId } from './types.js';

export interface ConfigEntry {
  readonly change: ConfigChange;
  /** The membership in force from this entry on. */
  readonly membership: Membership;
}

export function encodeConfigEntry(change: ConfigChange, membership: Membership): Uint8Array {
  const size = 6 + 2 + 4 * membership.voters.length + 2 + 4 * membership.learners.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = 1;
  out[1] = change.type;
  view.setUint32(2, change.node);
  let at = 6;
  for (const list of [membership.voters, membership.learners]) {
    view.setUint16(at, list.length);
    at += 2;
    for (const id of list) {
      view.setUint32(at, id);
      at += 4;
    }
  }
  return out;
}

export function decodeConfigEntry(data: Uint8Array): ConfigEntry {
  const bad = (why: string): never => {
    throw new FlotillaError('CORRUPT', `bad config entry (${data.byteLength} bytes): ${why}`);
  };
  if (data.byteLength < 10 || data[0] !== 1 || (data[1] ?? 255) > 3) bad('header');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const change: ConfigChange = { type: data[1] as ConfigChangeType, node: view.getUint32(2) };
  let at = 6;
  const lists: NodeId[][] = [];
  for (let l = 0; l < 2; l++) {
    if (at + 2 > data.byteLength) bad('truncated');
    const n = view.getUint16(at);
    at += 2;
    if (at + 4 * n > data.byteLength) bad('truncated');
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++, at += 4) ids.push(view.getUint32(at));
    lists.push(ids);
  }
  if (at !== data.byteLength) bad('trailing bytes');
  return { change, membership: membershipOf(lists[0]!, lists[1]!) };
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
