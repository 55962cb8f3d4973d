/**
 * Flotilla's public entry: the Raft library. (The Kafka-compatible broker is started with the
 * `flotilla` CLI.)
 */
export { FlotillaError, ErrorCodes, isFlotillaError, type ErrorCode } from './base/errors.js';
export { AssertionFailure } from './base/assert.js';
export { Xoshiro128, type Prng } from './base/prng.js';
export type { Clock } from './base/clock.js';
export { systemClock } from './app/system-clock.js';
export { RaftCore, type RaftCoreOptions, type RaftStatus } from './raft/core/raft.js';
export { raftSettings, validateRaftSettings } from './raft/core/config.js';
export { membershipOf, encodeConfigEntry, decodeConfigEntry } from './raft/core/membership.js';
export * from './raft/core/types.js';
export { RaftNode, nodeSettings, type RaftNodeOptions, type LeaderChange, type FollowerActivity } from './raft/node.js';
export { RaftHost, hostSettings, type HostTransport, type RaftHostOptions, type CreateGroupOptions } from './raft/host.js';
export type { StateMachine } from './raft/state-machine.js';
export { MemoryGroupStore, MemoryGroupStorage, type GroupStore, type GroupStorage } from './raft/group-store.js';
export { openDiskGroupStore, DiskGroupStore, type DiskGroupStoreOptions } from './storage/disk-group-store.js';
export { openDiskGroupStorage, DiskGroupStorage, type DiskGroupStorageOptions } from './storage/disk-group-storage.js';
export { TcpTransport, type TcpTransportOptions } from './transport/tcp-transport.js';
export { MemoryNetwork, MemoryTransport } from './transport/memory-transport.js';
export type { Transport, PeerAddress } from './transport/transport.js';
export {
  simulate, simulateSeed, checkLinearizable,
  type SimulatedMachine, type Workload, type WorkloadOperation, type MachineSimOptions,
  type SeedReport, type SimulationReport, type FaultMix, type Violation, type Model, type HistoryOperation,
  type CheckOptions, type CheckResult,
} from './sim/machine-sim.js';
