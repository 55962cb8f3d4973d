/**
 * The example's state machine: a replicated key-value map, plus the cluster's peer addresses (so a
 * node added at run time becomes reachable from every node through the log itself).
 *
 * Commands are msgpackr-encoded objects:
 *   { op: 'put', key, value }  -> { ok: true, index }
 *   { op: 'del', key }         -> { ok: true, existed, index }
 *   { op: 'peer', id, peer, http } -> { ok: true, index }   (peer address of a node)
 * apply() is deterministic: every replica reaches the same map from the same log.
 */
import { pack, unpack } from 'msgpackr';
import type { StateMachine } from '../../lib/raft/state-machine.js';

export type KvCommand =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'del'; readonly key: string }
  | { readonly op: 'peer'; readonly id: number; readonly peer: string; readonly http: string };

export interface KvResult {
  readonly ok: boolean;
  readonly index: number;
  readonly existed?: boolean;
}

export interface PeerInfo {
  readonly peer: string;
  readonly http: string;
}

export function encodeCommand(command: KvCommand): Uint8Array {
  return pack(command);
}

export class KvMachine implements StateMachine<KvResult> {
  readonly data = new Map<string, string>();
  readonly peers = new Map<number, PeerInfo>();
  onPeers: ((peers: ReadonlyMap<number, PeerInfo>) => void) | null = null;

  apply(command: Uint8Array, index: number): KvResult {
    const c = unpack(command) as KvCommand;
    switch (c.op) {
      case 'put':
        this.data.set(c.key, c.value);
        return { ok: true, index };
      case 'del':
        return { ok: true, index, existed: this.data.delete(c.key) };
      case 'peer':
        this.peers.set(c.id, { peer: c.peer, http: c.http });
        this.onPeers?.(this.peers);
        return { ok: true, index };
      default:
        return { ok: false, index };
    }
  }

  snapshot(): Uint8Array {
    return pack({ data: [...this.data], peers: [...this.peers] });
  }

  restore(bytes: Uint8Array): void {
    const s = unpack(bytes) as { data: [string, string][]; peers: [number, PeerInfo][] };
    this.data.clear();
    for (const [k, v] of s.data) this.data.set(k, v);
    this.peers.clear();
    for (const [id, p] of s.peers) this.peers.set(id, p);
    this.onPeers?.(this.peers);
  }
}
