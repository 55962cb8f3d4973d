/**
 * Feeds a node's prom-client metrics (metrics.ts) from its components' plain counters and state,
 * once a second: the components stay free of a metrics library, and a scrape costs nothing
 * beyond reading numbers already kept. Counters move by the difference since the last pass.
 */
import type { Broker } from '../broker/broker.js';
import type { GroupCoordinator } from '../group/coordinator.js';
import type { ReplicaManager, ReplicaNode } from '../broker/replica-manager.js';
import { KafkaErrors } from '../kafka/errors.js';
import type { MetadataImage } from '../metadata/image.js';
import type { ServerMetrics } from '../server/metrics.js';
import type { AuditLog } from '../server/audit.js';
import { txnStates } from '../txn/records.js';
import type { TxnCoordinator } from '../txn/coordinator.js';
import type { NodeMetrics } from './metrics.js';
import type { QuotaManager } from '../quota/manager.js';

export interface MetricsSources {
  readonly metrics: NodeMetrics;
  readonly metadataGroup: string;
  readonly metadataNode: ReplicaNode;
  readonly image: () => MetadataImage;
  readonly replicas: ReplicaManager;
  readonly broker: Broker;
  readonly server: () => ServerMetrics | null;
  readonly groups: GroupCoordinator;
  readonly txn?: TxnCoordinator;
  /** The audit log (denials, failed logins): its counters are exported. */
  readonly audit?: AuditLog;
  /** The node's client quotas: a gauge set per live quota instance (idle ones are dropped). */
  readonly quotas?: QuotaManager;
}

const errorNames = new Map<number, string>(Object.entries(KafkaErrors).map(([name, e]) => [e.code, name]));

export class MetricsBinder {
  private readonly s: MetricsSources;
  private readonly last = new Map<string, number>();
  private readonly leaders = new Map<string, number>();
  /** The term last reported per group. */
  private readonly terms = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** The label sets of the quota gauges set on the last pass (removed once their sensor is gone). */
  private quotaLabels = new Map<string, { key: string; user: string; client_id: string; ip: string }>();

  constructor(sources: MetricsSources) {
    this.s = sources;
  }

  start(intervalMs = 1000): void {
    this.update();
    this.timer = setInterval(() => this.update(), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Increments `counter` by how much `value` grew since the last pass. */
  private delta(key: string, value: number, inc: (by: number) => void): void {
    const before = this.last.get(key) ?? 0;
    if (value > before) inc(value - before);
    this.last.set(key, value);
  }

  update(): void {
    const m = this.s.metrics;
    // Raft: every group hosted here.
    const groups: [string, ReplicaNode][] = [[this.s.metadataGroup, this.s.metadataNode], ...this.s.replicas.partitions().map((p) => [p.groupId, p.node] as [string, ReplicaNode])];
    const seen = new Set<string>();
    let led = 0;
    let inFlight = 0;
    let underReplicated = 0;
    // Plain getters and a gauge set only when its value moved: thousands of idle groups cost
    // this pass next to nothing.
    for (const [group, node] of groups) {
      seen.add(group);
      const term = node.term;
      if (this.terms.get(group) !== term) {
        m.raftTerm.set({ group }, term);
        this.terms.set(group, term);
      }
      if (node.isLeader) {
        led++;
        inFlight += node.uncommittedEntries;
        if (group !== this.s.metadataGroup && node.outOfSyncVoters > 0) underReplicated++;
      }
      const leader = node.leaderId;
      const prev = this.leaders.get(group);
      if (prev !== undefined && prev !== leader) m.raftLeaderChanges.inc();
      this.leaders.set(group, leader);
    }
    for (const group of [...this.terms.keys()]) {
      if (seen.has(group)) continue;
      m.raftTerm.remove({ group });
      this.terms.delete(group);
      this.leaders.delete(group);
    }
    m.raftGroups.set(groups.length);
    m.raftGroupsLed.set(led);
    m.raftInFlightEntries.set(inFlight);
    m.underReplicatedPartitions.set(underReplicated);
    // Metadata.
    const image = this.s.image();
    m.metadataBrokers.set(image.brokers.size);
    m.metadataFencedBrokers.set([...image.brokers.values()].filter((b) => b.fenced).length);
    m.metadataAppliedOffset.set(this.s.metadataNode.appliedIndex);
    // Broker.
    const b = this.s.broker.stats;
    this.delta('produced', b.produced, (n) => m.produceRequests.inc(n));
    this.delta('producedRecords', b.producedRecords, (n) => m.produceRecords.inc(n));
    this.delta('producedBytes', b.producedBytes, (n) => m.produceBytes.inc(n));
    this.delta('fetched', b.fetched, (n) => m.fetchRequests.inc(n));
    this.delta('fetchedBytes', b.fetchedBytes, (n) => m.fetchBytes.inc(n));
    // Consumer groups.
    for (const [state, n] of Object.entries(this.s.groups.groupsByState())) m.groups.set({ state }, n);
    this.delta('rebalances', this.s.groups.stats.rebalances, (n) => m.groupRebalances.inc(n));
    this.delta('offsetCommits', this.s.groups.stats.offsetCommits, (n) => m.groupOffsetCommits.inc(n));
    // Idempotent and transactional producers.
    const ps = this.s.replicas.producerStats;
    this.delta('duplicates', ps.duplicates, (n) => m.producerDuplicates.inc(n));
    this.delta('rejected', ps.rejected, (n) => m.producerRejected.inc(n));
    this.delta('producerIds', this.s.broker.producerIds.handedOut, (n) => m.producerIds.inc(n));
    let producers = 0;
    let open = 0;
    for (const p of this.s.replicas.partitions()) {
      const c = p.node.isLeader ? p.producerCounts?.() : undefined;
      if (c === undefined) continue;
      producers += c.producers;
      open += c.openTransactions;
    }
    m.partitionProducers.set(producers);
    m.partitionOpenTransactions.set(open);
    const txn = this.s.txn;
    if (txn) {
      const byState = new Map<string, number>(txnStates.map((s) => [s, 0]));
      for (const t of txn.transactions()) byState.set(t.state, (byState.get(t.state) ?? 0) + 1);
      for (const [state, n] of byState) m.transactions.set({ state }, n);
      this.delta('txnCommitted', txn.stats.committed, (n) => m.transactionsEnded.inc({ result: 'commit' }, n));
      this.delta('txnAborted', txn.stats.aborted, (n) => m.transactionsEnded.inc({ result: 'abort' }, n));
      this.delta('txnTimedOut', txn.stats.timedOut, (n) => m.transactionsTimedOut.inc(n));
      this.delta('txnMarkers', txn.stats.markers, (n) => m.transactionMarkers.inc({ outcome: 'written' }, n));
      this.delta('txnMarkerRetries', txn.stats.markerRetries, (n) => m.transactionMarkers.inc({ outcome: 'retried' }, n));
    }
    // Kafka listener.
    const audit = this.s.audit;
    if (audit !== undefined) {
      for (const [key, n] of audit.denials) {
        const [api = '', resourceType = ''] = key.split('|');
        this.delta(`authz:${key}`, n, (by) => m.authzDenied.inc({ api, resource_type: resourceType }, by));
      }
      for (const [key, n] of audit.authenticationFailures) {
        const [listener = '', mechanism = '', reason = ''] = key.split('|');
        this.delta(`authn:${key}`, n, (by) => m.authnFailed.inc({ listener, mechanism, reason }, by));
      }
    }
    this.updateQuotas();
    const server = this.s.server();
    if (server) {
      const snap = server.snapshot();
      for (const [api, n] of Object.entries(snap.requestsByApi)) this.delta(`api:${api}`, n, (by) => m.kafkaRequests.inc({ api }, by));
      for (const [code, n] of Object.entries(snap.errorsByCode)) {
        const error = errorNames.get(Number(code)) ?? `code_${code}`;
        this.delta(`err:${code}`, n, (by) => m.kafkaRequestErrors.inc({ api: 'any', error }, by));
      }
      for (const [api, t] of Object.entries(snap.trailingBytesByApi)) {
        this.delta(`trail:${api}`, t.requests, (by) => m.kafkaRequestsTrailingBytes.inc({ api }, by));
        this.delta(`trailBytes:${api}`, t.bytes, (by) => m.kafkaRequestTrailingBytes.inc({ api }, by));
      }
      for (const [api, n] of Object.entries(snap.unsupportedByApi)) this.delta(`unsup:${api}`, n, (by) => m.kafkaRequestsUnsupported.inc({ api }, by));
      for (const [api, n] of Object.entries(snap.malformedByApi)) this.delta(`malf:${api}`, n, (by) => m.kafkaRequestsMalformed.inc({ api }, by));
      m.connections.set(snap.connectionsActive);
      this.delta('accepted', snap.connectionsAccepted, (n) => m.connectionsAccepted.inc(n));
    }
  }

  /** Per live quota sensor: observed rate, limit, throttle totals; gauges of dropped sensors removed. */
  private updateQuotas(): void {
    const quotas = this.s.quotas;
    if (quotas === undefined) return;
    const m = this.s.metrics;
    const seen = new Map<string, { key: string; user: string; client_id: string; ip: string }>();
    for (const s of quotas.liveSensors()) {
      const labels = { key: s.key, user: s.user, client_id: s.clientId, ip: s.ip };
      const id = `quota:${s.key}\u0000${s.user}\u0000${s.clientId}\u0000${s.ip}`;
      seen.set(id, labels);
      m.quotaObserved.set(labels, quotas.observed(s));
      m.quotaLimit.set(labels, s.bound);
      this.delta(`${id}:t`, s.throttleTimeMs, (by) => m.quotaThrottleTimeMs.inc(labels, by));
      this.delta(`${id}:n`, s.throttled, (by) => m.quotaThrottledRequests.inc(labels, by));
    }
    for (const [id, labels] of this.quotaLabels) {
      if (seen.has(id)) continue;
      m.quotaObserved.remove(labels);
      m.quotaLimit.remove(labels);
      this.last.delete(`${id}:t`);
      this.last.delete(`${id}:n`);
    }
    this.quotaLabels = seen;
  }
}
