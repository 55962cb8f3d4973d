/**
 * The composition root of one Flotilla node: config -> storage -> transport -> Raft host ->
 * metadata (controller quorum or observer) -> broker (replicas) -> Kafka listener -> metrics.
 * Started in that order and stopped in the reverse one.
 *
 *   <dataDir>/state/        LevelDB: Raft state of every group, node identity, later offsets etc.
 *   <dataDir>/metadata/     the metadata log (__cluster_metadata) and its snapshots
 *   <dataDir>/partitions/   one directory per partition replica: <topic>-<partition>.<topicId>
 *
 * The node registers with the controller and serves Kafka clients once the controller has
 * unfenced it (its metadata has caught up); until then its listener is not open, so clients
 * never see a node that does not know the cluster yet.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlotillaError } from '../base/errors.js';
import { Xoshiro128 } from '../base/prng.js';
import type { ConfigEntryView, ConfigValueType } from '../broker/api.js';
import { Broker } from '../broker/broker.js';
import { LogManager } from '../broker/log-manager.js';
import { Partition } from '../broker/partition.js';
import { type Replica, ReplicaManager } from '../broker/replica-manager.js';
import type { MarkerFacts } from '../broker/producer-state.js';
import { GroupCoordinator } from '../group/coordinator.js';
import { OFFSETS_TOPIC, OffsetsPartition } from '../group/offsets-partition.js';
import { systemTimers } from '../group/timers.js';
import { PeerRpc } from '../cluster/rpc.js';
import { BrokerLifecycle } from '../metadata/broker-lifecycle.js';
import { Controller, uuidFromPrng } from '../metadata/controller.js';
import {
  BrokerMethods, ControllerMethods, type PartitionLeaderReport, type PartitionMembershipRequest, type PartitionMembershipResponse,
} from '../metadata/controller-api.js';
import { ControllerClient } from '../metadata/controller-client.js';
import type { MetadataImage } from '../metadata/image.js';
import { type MetadataApplyResult, MetadataStateMachine } from '../metadata/state-machine.js';
import { scramCredentialRecord } from '../metadata/scram.js';
import { effectiveTopicConfig, topicConfigSource } from '../metadata/topic-config.js';
import { roleName } from '../raft/core/types.js';
import { RaftHost } from '../raft/host.js';
import { RaftNode } from '../raft/node.js';
import { KafkaServer } from '../server/listener.js';
import { QuotaManager } from '../quota/manager.js';
import { ServerMetrics } from '../server/metrics.js';
import { AuditLog } from '../server/audit.js';
import { parseMappingRules } from '../server/ssl-principal.js';
import { TlsCertificates } from '../server/tls.js';
import { usesTls } from '../server/session.js';
import { brokerEndpoint } from '../metadata/image.js';
import { Authorizer } from '../auth/authorizer.js';
import { quotaEntries } from '../quota/entries.js';
import { type MarkerTarget, TxnCoordinator, type TxnMarker } from '../txn/coordinator.js';
import { TXN_STATE_TOPIC, TxnPartition } from '../txn/txn-partition.js';
import { openDiskGroupStore } from '../storage/disk-group-store.js';
import { KvBatcher } from '../storage/kv-batcher.js';
import { LevelKv } from '../storage/level-kv.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { loadPeerTls } from '../transport/peer-tls.js';
import type { NodeConfig } from './config.js';
import { type Logger, createLogger, lineLogger } from './logger.js';
import { MetricsBinder } from './metrics-binder.js';
import { type NodeMetrics, createNodeMetrics } from './metrics.js';
import { systemClock } from './system-clock.js';

export const METADATA_GROUP = '__cluster_metadata';

export interface FlotillaNode {
  readonly nodeId: number;
  clientAddress(): { host: string; port: number };
  status(): unknown;
  /** Settles when the node stops by itself (a fatal error) or after close(). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface StartNodeOptions {
  readonly logger?: Logger;
  readonly metrics?: NodeMetrics;
}

interface Identity {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly incarnationId: string;
}

const IDENTITY_KEY = 'node/identity';

export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<FlotillaNode> {
  const logger = options.logger ?? createLogger({ nodeId: config.nodeId, level: config.logLevel });
  const clock = systemClock;
  const seed = randomBytes(4).readUInt32BE(0);
  /** Components in start order, each with what stops it; stopped in reverse order. */
  const stops: [string, () => Promise<void> | void][] = [];
  let stopped = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const [name, s] of stops.reverse()) {
      const started = performance.now();
      // A step that hangs (a quorum lost under it) is reported while it waits, then each second.
      const slow = setInterval(() => logger.warn({ component: name, waitedMs: Math.round(performance.now() - started) }, 'still stopping'), 1000);
      try {
        await s();
      } catch (err) {
        logger.error({ err, component: name }, 'error while stopping');
      } finally {
        clearInterval(slow);
      }
      logger.debug({ component: name, ms: Math.round(performance.now() - started) }, 'stopped');
    }
    resolveClosed();
  };

  const metrics: NodeMetrics = options.metrics ?? createNodeMetrics({ nodeId: config.nodeId });
  try {
    // Peer TLS files are read and checked (CA, node id) before anything is opened.
    const peerTls = config.peerTls ? loadPeerTls(config.peerTls, config.nodeId) : null;
    // ---- storage and identity -----------------------------------------------------------------
    mkdirSync(config.dataDir, { recursive: true });
    const level = await LevelKv.open(join(config.dataDir, 'state'));
    const kv = new KvBatcher(level);
    stops.push(['kv', () => kv.close()]);
    const identity = await loadIdentity(kv, config, uuidFromPrng(new Xoshiro128(seed ^ 0x2545f491)));
    logger.info({ incarnationId: identity.incarnationId, dataDir: config.dataDir }, 'node identity');

    // ---- transport, rpc, raft host -------------------------------------------------------------
    const controllerIds = config.controllers.map((c) => c.id);
    const isController = config.isController;
    const transport = new TcpTransport({
      nodeId: config.nodeId,
      clusterId: config.clusterId,
      listen: { host: config.peerListen.host, port: config.peerListen.port },
      prng: new Xoshiro128(seed ^ 0x5bd1e995),
      clock,
      logger: lineLogger(logger, { component: 'transport' }),
      ...(peerTls ? { tls: peerTls } : {}),
    });
    const peers = new Map(config.controllers.map((c) => [c.id, { host: c.host, port: c.port }] as const));
    transport.setPeers(peers);
    await transport.start();
    stops.push(['transport', () => transport.close()]);
    const rpc = new PeerRpc({ nodeId: config.nodeId, transport, logger: lineLogger(logger, { component: 'rpc' }) });
    stops.push(['rpc', () => rpc.close()]);
    const host = new RaftHost({
      nodeId: config.nodeId,
      transport: rpc.raftTransport,
      settings: { tickMs: config.tickMs },
      logger: lineLogger(logger, { component: 'raft-host' }),
      onFatal: (err) => {
        logger.fatal({ err }, 'raft host stopped: the node cannot go on safely');
        void stop();
      },
    });
    host.start();
    stops.push(['raft host', () => host.close()]);

    // ---- metadata ------------------------------------------------------------------------------
    let metadataTerm = (): number => 0;
    const metadataLog = lineLogger(logger, () => ({ group: METADATA_GROUP, term: metadataTerm() }));
    const metadataStore = await openDiskGroupStore({
      dir: join(config.dataDir, 'metadata'),
      bootstrap: isController ? { voters: controllerIds, learners: [] } : { voters: [], learners: [] },
      fsync: config.fsync,
      kv,
      group: METADATA_GROUP,
      clock,
      logger: metadataLog,
    });
    const metadata = new MetadataStateMachine({ logger: lineLogger(logger, { component: 'metadata' }) });
    const metadataNode = await RaftNode.create<MetadataApplyResult>({
      host,
      groupId: METADATA_GROUP,
      store: metadataStore,
      stateMachine: metadata,
      node: { snapshotEntries: 1_000, snapshotTrailingEntries: 200 },
      // DescribeQuorum reports when each follower was last caught up.
      trackFollowers: true,
      logger: metadataLog,
    });
    stops.push(['metadata group', () => metadataNode.close()]);
    metadataTerm = () => metadataNode.term;
    metadataNode.on('leader-change', ({ leaderId, term }: { leaderId: number; term: number }) => {
      logger.info({ group: METADATA_GROUP, term, leaderId }, 'metadata leader changed');
    });
    // Every registered node is a peer (its address comes from its registration).
    const overrides = new Map(config.peerAddresses.map((a) => [a.id, { host: a.host, port: a.port }] as const));
    const syncPeers = (image: MetadataImage): void => {
      const all = new Map(peers);
      for (const b of image.brokers.values()) all.set(b.brokerId, overrides.get(b.brokerId) ?? { host: b.host, port: b.peerPort });
      transport.setPeers(all);
    };

    // the --add-scram credentials, salted here (the password goes no further).
    const bootstrapCredentials = await Promise.all(config.sasl.addScram.map((c) => scramCredentialRecord(c.name, c.mechanism, c.password, randomBytes(16), c.iterations)));
    const saslSecret = loadSaslSecret(config.dataDir);

    // A controller on every node: only the metadata leader's is active, and any node may become a
    // voter (AddRaftVoter), so a node that is not a configured voter may lead one day.
    {
      const controller = new Controller({
        nodeId: config.nodeId,
        raft: metadataNode,
        stateMachine: metadata,
        rpc,
        clock,
        prng: new Xoshiro128(seed),
        settings: {
          numPartitions: config.numPartitions,
          defaultReplicationFactor: config.defaultReplicationFactor,
          autoCreateTopics: config.autoCreateTopics,
          leaderBalanceIntervalMs: 10_000,
        },
        logger: lineLogger(logger, { component: 'controller' }),
        bootstrapCredentials,
      });
      controller.start();
      stops.push(['controller', () => controller.close()]);
    }
    const controllerClient = new ControllerClient({
      nodeId: config.nodeId,
      rpc,
      controllerIds,
      leaderHint: () => metadataNode.leaderId,
      metadata,
      clock,
      prng: new Xoshiro128(seed ^ 0x68e31da4),
      logger: lineLogger(logger, { component: 'controller-client' }),
    });

    // ---- consumer groups: coordinators on the offsets topic's Raft groups -----------------------
    let offsetsTopicRequested = false;
    const ensureOffsetsTopic = (): void => {
      if (offsetsTopicRequested) return;
      offsetsTopicRequested = true;
      controllerClient.call(ControllerMethods.createTopics, {
        topics: [{ name: OFFSETS_TOPIC, partitions: groups.settings.offsetsTopicPartitions, replicationFactor: -1, assignments: null, configs: {} }],
        validateOnly: false,
      }).then(
        () => logger.info({ topic: OFFSETS_TOPIC }, 'created the offsets topic'),
        (err: unknown) => {
          offsetsTopicRequested = false;
          logger.warn({ err }, 'could not create the offsets topic yet');
        },
      );
    };
    const groups = new GroupCoordinator({
      clock,
      timers: systemTimers,
      locate: (partition, listener) => {
        const image = metadata.image();
        const topic = image.topicsByName.get(OFFSETS_TOPIC);
        if (!topic) {
          ensureOffsetsTopic();
          return null;
        }
        return leaderEndpoint(image, topic.partitions[partition]?.leaderId ?? -1, listener);
      },
      partitionExists: (topic, partition) => (metadata.image().topicsByName.get(topic)?.partitions.length ?? 0) > partition,
      logger: lineLogger(logger, { component: 'groups' }),
    });
    stops.push(['group coordinator', () => groups.close()]);

    // ---- transactions: coordinators on the transaction-state topic's Raft groups ------------------
    let txnTopicRequested = false;
    const ensureTxnTopic = (): void => {
      if (txnTopicRequested) return;
      txnTopicRequested = true;
      controllerClient.call(ControllerMethods.createTopics, {
        topics: [{ name: TXN_STATE_TOPIC, partitions: txn.settings.transactionStatePartitions, replicationFactor: -1, assignments: null, configs: {} }],
        validateOnly: false,
      }).then(
        () => logger.info({ topic: TXN_STATE_TOPIC }, 'created the transaction-state topic'),
        (err: unknown) => {
          txnTopicRequested = false;
          logger.warn({ err }, 'could not create the transaction-state topic yet');
        },
      );
    };
    /** The leader of an internal or data partition as the metadata image names it (-1: none). */
    const leaderOf = (topic: string, partition: number): number => metadata.image().topicsByName.get(topic)?.partitions[partition]?.leaderId ?? -1;
    const MARKER_RPC = 'txn.writeMarker';
    const writeMarkerHere = async (target: MarkerTarget, marker: TxnMarker, timeoutMs: number): Promise<void> => {
      if (target.kind === 'offsets') return groups.writeTxnMarker(target.partition, marker);
      const p = replicas.get(target.topic, target.partition);
      if (!p) throw new FlotillaError('NOT_LEADER', `node ${config.nodeId} holds no replica of ${target.topic}-${target.partition}`, { leaderId: -1 });
      const facts: MarkerFacts = marker;
      await p.writeMarker(facts, timeoutMs);
    };
    const txn: TxnCoordinator = new TxnCoordinator({
      clock,
      timers: systemTimers,
      offsetsTopicPartitions: groups.settings.offsetsTopicPartitions,
      locate: (partition, listener) => {
        const image = metadata.image();
        const topic = image.topicsByName.get(TXN_STATE_TOPIC);
        if (!topic) {
          ensureTxnTopic();
          return null;
        }
        return leaderEndpoint(image, topic.partitions[partition]?.leaderId ?? -1, listener);
      },
      producerIds: { next: () => broker.producerIds.next() },
      writeMarker: async (target, marker) => {
        const timeoutMs = txn.settings.markerTimeoutMs;
        const local = target.kind === 'offsets' ? groups.loadedPartitions().includes(target.partition) : replicas.get(target.topic, target.partition)?.isLeader === true;
        if (local) return writeMarkerHere(target, marker, timeoutMs);
        const leader = target.kind === 'offsets' ? leaderOf(OFFSETS_TOPIC, target.partition) : leaderOf(target.topic, target.partition);
        if (leader <= 0 || leader === config.nodeId) throw new FlotillaError('LEADER_NOT_AVAILABLE', 'no leader known for the marker yet');
        await rpc.call(leader, MARKER_RPC, { target, marker }, timeoutMs + 1_000);
      },
      partitionExists: (topic, partition) => (metadata.image().topicsByName.get(topic)?.partitions.length ?? 0) > partition,
      topicExists: (topic) => metadata.image().topicsByName.has(topic),
      logger: lineLogger(logger, { component: 'transactions' }),
    });
    stops.push(['transaction coordinator', () => txn.close()]);
    rpc.handle(MARKER_RPC, async (_from, body) => {
      const b = body as { target: MarkerTarget; marker: TxnMarker };
      await writeMarkerHere(b.target, b.marker, txn.settings.markerTimeoutMs);
      return true;
    });

    const onReplicaOpened = (r: Replica): void => {
      if (r instanceof TxnPartition) {
        r.on('coordinator', (leading: boolean) => {
          if (leading) txn.loadPartition(r.partition, { log: r.log, state: r.state, leaderEpoch: r.leaderEpoch });
          else txn.unloadPartition(r.partition);
        });
        return;
      }
      if (!(r instanceof OffsetsPartition)) return;
      r.on('coordinator', (leading: boolean) => {
        if (leading) groups.loadPartition(r.partition, r.log, r.state);
        else groups.unloadPartition(r.partition);
      });
    };
    const onReplicaClosed = (r: Replica): void => {
      if (r instanceof OffsetsPartition) groups.unloadPartition(r.partition);
      if (r instanceof TxnPartition) txn.unloadPartition(r.partition);
    };

    // ---- broker --------------------------------------------------------------------------------
    const replicas = new ReplicaManager({
      nodeId: config.nodeId,
      host,
      kv,
      dir: join(config.dataDir, 'partitions'),
      fsync: config.fsync,
      clock,
      rpc,
      reportLeaders: async (reports: PartitionLeaderReport[]) => {
        await controllerClient.call(ControllerMethods.partitionLeader, { reports });
      },
      logger: lineLogger(logger, { component: 'replicas' }),
      replicaLogger: (group, name, term) => lineLogger(logger, () => ({ group, partition: name, term: term() })),
      internal: new Map<string, (o: Parameters<typeof OffsetsPartition.open>[0]) => Promise<Replica>>([
        [OFFSETS_TOPIC, (o) => OffsetsPartition.open(o)],
        [TXN_STATE_TOPIC, (o) => TxnPartition.open(o)],
      ]),
      onOpened: onReplicaOpened,
      onClosed: onReplicaClosed,
    });
    rpc.handle(BrokerMethods.partitionMembership, (_from, body) => {
      const b = body as PartitionMembershipRequest;
      if (!Array.isArray(b?.partitions)) throw new FlotillaError('INVALID_REQUEST', 'partitions is not a list');
      const hosted = replicas.partitions();
      return Promise.resolve(b.partitions.map((x) => {
        const p = hosted.find((r) => r.topicId === x.topicId && r.partition === x.partition);
        return p?.isLeader ? { term: p.leaderEpoch, voters: [...p.membership.voters], learners: [...p.membership.learners] } : null;
      }) satisfies PartitionMembershipResponse);
    });
    rpc.handle(BrokerMethods.transferLeader, async (_from, body) => {
      const b = body as { topicId: string; partition: number; to: number };
      const p = replicas.partitions().find((x) => x.topicId === b.topicId && x.partition === b.partition);
      if (!p) throw new FlotillaError('UNKNOWN_TOPIC', `no replica of ${b.topicId}/${b.partition} here`);
      await p.node.transferLeadership(b.to);
      return true;
    });
    metadata.subscribe((image: MetadataImage) => {
      syncPeers(image);
      replicas.onImage(image);
    });
    replicas.start();
    stops.push(['replicas', () => replicas.close()]);
    const logs = new LogManager({
      partitions: () => replicas.partitions().filter((r): r is Partition => r instanceof Partition),
      topicConfig: (topic) => (metadata.image().topicsByName.has(topic) ? effectiveTopicConfig(metadata.image(), topic) : undefined),
      clock,
      settings: { checkIntervalMs: config.logCheckIntervalMs, cleanerBackoffMs: config.logCleanerBackoffMs },
      cleaner: { dedupeBytesMax: config.logCleanerDedupeBytes, ioBytesPerSecond: config.logCleanerIoBytesPerSecond },
      logger: lineLogger(logger, { component: 'logs' }),
    });
    logs.start();
    stops.push(['log maintenance', () => logs.close()]);

    const nodeConfigEntries: ConfigEntryView[] = [
      entry('broker.id', 'int', String(config.nodeId), 'the node id'),
      entry('broker.rack', 'string', config.rack, 'the node rack'),
      entry('auto.create.topics.enable', 'boolean', String(config.autoCreateTopics), 'create unknown topics on first use'),
      entry('num.partitions', 'int', String(config.numPartitions), 'default partition count of a new topic'),
      entry('default.replication.factor', 'short', String(config.defaultReplicationFactor), 'default replication factor of a new topic'),
      entry('log.dirs', 'string', config.dataDir, 'where this node keeps its data'),
    ];
    const broker = new Broker({
      nodeId: config.nodeId,
      metadata,
      controller: { call: (method, body) => controllerClient.call(method, body) },
      peers: { call: (to, method, body, timeoutMs) => rpc.call(to, method, body, timeoutMs) },
      replicas,
      topicConfig: topicConfigSource,
      clock,
      settings: { clusterId: config.clusterId, autoCreateTopics: config.autoCreateTopics, nodeConfig: nodeConfigEntries, logDir: join(config.dataDir, 'partitions') },
      metadataBarrier: () => metadataNode.readBarrier(),
      logger: lineLogger(logger, { component: 'broker' }),
      onCommitLatency: (ms) => metrics.raftCommitLatency.observe(ms / 1000),
    });

    // ---- membership in the cluster -----------------------------------------------------------
    const lifecycle = new BrokerLifecycle({
      nodeId: config.nodeId,
      incarnationId: identity.incarnationId,
      host: config.advertisedHost,
      clientPort: config.listen.port,
      peerPort: config.peerListen.port,
      rack: config.rack,
      // RegisterBroker version 1 only when there is more than --listen's one PLAINTEXT listener.
      ...(isPlainDefault(config) ? {} : {
        listeners: config.listeners.map((l) => ({ name: l.name, host: l.advertisedHost, port: l.advertisedPort, securityProtocol: l.securityProtocol })),
      }),
      controller: controllerClient,
      metadataApplied: () => metadataNode.appliedIndex,
      logger: lineLogger(logger, { component: 'lifecycle' }),
    });
    lifecycle.start().catch((err: unknown) => logger.error({ err }, 'registration failed'));
    stops.push(['lifecycle', async () => {
      await lifecycle.shutdown();
      lifecycle.stop();
    }]);

    // ---- authorization and audit ---------------------------------------------------------------
    // The authorizer reads the ACLs of this node's metadata image (rebuilding its index when they
    // change); the node opens its listener only once unfenced, i.e. caught up with the metadata log,
    // so the ACLs are loaded before the first client request (Kafka's AuthorizerNotReady window).
    const audit = new AuditLog((fields, message) => logger.info({ component: 'audit', ...fields }, message));
    const authorizer = config.authorizer
      ? new Authorizer({ superUsers: config.superUsers, allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound }, () => metadata.image().acls)
      : undefined;
    if (authorizer !== undefined && config.superUsers.includes('User:ANONYMOUS')) {
      logger.warn('User:ANONYMOUS is a super user: every unauthenticated client is allowed everything');
    }
    if (authorizer !== undefined && config.superUsers.length === 0 && !config.allowEveryoneIfNoAclFound) {
      logger.warn('the authorizer is on with no --super-users: only a principal with ALTER on the cluster can add ACLs, and none has it until an ACL says so');
    }
    for (const l of config.listeners) {
      // PLAIN sends the password itself: over SASL_PLAINTEXT anyone on the path reads it.
      if (l.securityProtocol === 'SASL_PLAINTEXT' && (config.sasl.byListener.get(l.name) ?? config.sasl.mechanisms).includes('PLAIN')) {
        logger.warn({ listener: l.name }, `listener ${l.name} offers PLAIN over SASL_PLAINTEXT: passwords cross the network in clear (use SASL_SSL, or SCRAM only)`);
      }
    }

    // ---- Kafka listeners (one server each), once the controller has unfenced this node ---------
    let certificates: TlsCertificates | null = null;
    if (config.tls !== null) {
      const certs = new TlsCertificates(config.tls, lineLogger(logger, { component: 'tls' }));
      certificates = certs;
      // A renewed certificate is picked up without a restart: on a file change, or on SIGHUP.
      certs.watch();
      const onHup = (): void => void certs.reload('SIGHUP');
      process.on('SIGHUP', onHup);
      stops.push(['tls certificates', () => {
        process.off('SIGHUP', onHup);
        certs.close();
      }]);
    }
    const principalRules = parseMappingRules(config.sslPrincipalMappingRules);
    const serverMetrics = new ServerMetrics();
    // Client quotas (issue 19): one manager per node (quotas are per node, as in Kafka), shared
    // by its listeners; its entries are the metadata image's quotas (re-read once a window).
    const quotas = new QuotaManager({ entries: () => quotaEntries(metadata.image()), now: Date.now });
    const servers = config.listeners.map((l) => new KafkaServer({
      authorizer,
      quotas,
      broker,
      groups,
      txn,
      host: l.host,
      port: l.port,
      settings: { maxRequestBytes: config.maxRequestBytes, maxConnectionsPerIp: config.sasl.maxConnectionsPerIp },
      logger: lineLogger(logger, { component: 'kafka', listener: l.name }),
      audit,
      metrics: serverMetrics,
      listener: {
        name: l.name,
        securityProtocol: l.securityProtocol,
        ...(usesTls(l.securityProtocol) && certificates !== null
          ? { tls: { certificates, clientAuth: l.clientAuth, minVersion: config.tls!.minVersion, principalRules } }
          : {}),
      },
      // Used by a SASL_PLAINTEXT / SASL_SSL listener only.
      sasl: {
        mechanisms: config.sasl.byListener.get(l.name) ?? config.sasl.mechanisms,
        secret: saslSecret,
        settings: {
          saslMaxReceiveBytes: config.sasl.maxReceiveBytes, saslHandshakeTimeoutMs: config.sasl.handshakeTimeoutMs,
          failedAuthenticationDelayMs: config.sasl.failedAuthenticationDelayMs, connectionsMaxReauthMs: config.sasl.connectionsMaxReauthMs,
          maxUnauthenticatedConnections: config.sasl.maxUnauthenticatedConnections,
        },
      },
    }));
    stops.push(['kafka listener', async () => {
      await Promise.all(servers.map((s) => s.close()));
    }]);
    let serving = false;
    const openListener = async (): Promise<void> => {
      if (serving || stopped) return;
      serving = true;
      for (const s of servers) await s.start();
      replicas.removeOrphans(metadata.image());
      logger.info({ listeners: config.listeners.map((l) => `${l.name}://${l.host}:${l.port} (${l.securityProtocol}${l.clientAuth === 'none' ? '' : `, client auth ${l.clientAuth}`})`) }, 'serving Kafka clients');
    };
    lifecycle.waitUntilUnfenced().then(openListener).catch((err: unknown) => {
      if (stopped) return;
      logger.fatal({ err }, 'cannot open the Kafka listener');
      void stop();
    });

    // ---- metrics -------------------------------------------------------------------------------
    const status = (): unknown => ({
      nodeId: config.nodeId,
      incarnationId: identity.incarnationId,
      serving,
      fenced: lifecycle.fenced,
      // The nodes this node's metadata has registered and unfenced (where placement may put
      // replicas): `flotilla local` waits for every node here before printing its banner.
      unfencedNodes: metadata.image().unfencedBrokers().map((b) => b.brokerId),
      metadata: { ...summary(metadataNode.status()), controller: metadataNode.membership.voters.includes(config.nodeId) },
      partitions: replicas.partitions().map((p) => p.status()),
      producers: replicas.partitions().flatMap((p) => (p instanceof Partition && p.isLeader ? [{ topic: p.topic, partition: p.partition, producers: p.producers() }] : [])),
      transactions: txn.transactions(),
      transport: Object.fromEntries([...transport.stats().peers].map(([id, s]) => [id, { connected: s.connected, dropped: s.dropped }])),
      // Peer connections refused before or at the handshake (bad certificate, node id not the certificate's, wrong cluster, ...).
      peerConnectionsRefused: transport.stats().rejectedConnections,
      listeners: config.listeners.map((l, i) => ({
        name: l.name, securityProtocol: l.securityProtocol, listen: `${l.host}:${l.port}`, advertised: `${l.advertisedHost}:${l.advertisedPort}`,
        clientAuth: l.clientAuth, connections: servers[i]!.connectionCount(),
      })),
      ...(certificates === null ? {} : { tls: { ...certificates.stats } }),
      // Each configured quota entity, its limits and the live rates of the clients it covers.
      quotas: quotas.status(),
    });
    const binder = new MetricsBinder({
      metrics,
      metadataGroup: METADATA_GROUP,
      metadataNode: metadataNode as RaftNode<unknown>,
      image: () => metadata.image(),
      replicas,
      broker,
      server: () => serverMetrics,
      groups,
      txn,
      audit,
      quotas,
    });
    binder.start();
    stops.push(['metrics', () => binder.stop()]);
    logger.info({ controllers: config.controllers.map((c) => `${c.id}@${c.host}:${c.port}`), controller: isController }, 'node started');

    return {
      nodeId: config.nodeId,
      clientAddress: () => ({ host: config.advertisedHost, port: config.listen.port }),
      status,
      closed,
      close: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** True when the node has only --listen's PLAINTEXT listener (registered as a version 0 record, as before listeners). */
function isPlainDefault(config: NodeConfig): boolean {
  const [l, ...rest] = config.listeners;
  return rest.length === 0 && l !== undefined && l.name === 'PLAINTEXT' && l.securityProtocol === 'PLAINTEXT'
    && l.advertisedHost === config.advertisedHost && l.advertisedPort === config.listen.port;
}

/** Where clients of `listener` (absent: PLAINTEXT) reach the live broker `leader`; null when none. */
function leaderEndpoint(image: MetadataImage, leader: number, listener: string | undefined): { nodeId: number; host: string; port: number } | null {
  const b = image.brokers.get(leader);
  if (b === undefined || b.fenced) return null;
  const at = brokerEndpoint(b, listener ?? 'PLAINTEXT');
  return at === null ? null : { nodeId: b.brokerId, host: at.host, port: at.port };
}

function entry(name: string, type: ConfigValueType, value: string | null, doc: string): ConfigEntryView {
  return { name, type, value, readOnly: true, source: 'broker', sensitive: false, doc };
}

function summary(s: ReturnType<RaftNode['status']>): Record<string, unknown> {
  return { role: roleName(s.role), term: s.term, leader: s.leader, commitIndex: s.commit, appliedIndex: s.applied, voters: s.membership.voters, learners: s.membership.learners };
}

/**
 * The node's secret for the salts answered to unknown SASL users (sasl/scram.ts): random once, kept
 * in the data directory (owner-only), so the answer for a name stays the same across restarts.
 */
function loadSaslSecret(dataDir: string): Buffer {
  const path = join(dataDir, 'sasl-secret');
  try {
    const b = readFileSync(path);
    if (b.length === 32) return b;
  } catch {
    // not written yet
  }
  const secret = randomBytes(32);
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}

/** The data dir belongs to one node of one cluster; a new dir gets a fresh incarnation id. */
async function loadIdentity(kv: KvBatcher, config: NodeConfig, freshIncarnationId: string): Promise<Identity> {
  const stored = (await kv.get(IDENTITY_KEY)) as Identity | undefined;
  if (stored) {
    if (stored.nodeId !== config.nodeId) {
      throw new FlotillaError('INVALID_CONFIG', `invalid setting --node-id: the data dir ${config.dataDir} belongs to node ${stored.nodeId}, not ${config.nodeId}`);
    }
    if (stored.clusterId !== config.clusterId) {
      throw new FlotillaError('INVALID_CONFIG', `invalid setting --cluster-id: the data dir ${config.dataDir} belongs to cluster "${stored.clusterId}", not "${config.clusterId}"`);
    }
    return stored;
  }
  const identity: Identity = { nodeId: config.nodeId, clusterId: config.clusterId, incarnationId: freshIncarnationId };
  await kv.batch([{ type: 'put', key: IDENTITY_KEY, value: identity }], { sync: true });
  return identity;
}
