/**
 * `raft-ipam serve`: one cluster member in this process — the node runtime (IpamNode) plus its HTTP API,
 * metrics and JSON logs on stdout. SIGTERM/SIGINT stop it gracefully (the batch in flight settles, the
 * data directory is unlocked); a storage or apply failure stops it with exit code 1, because a replica
 * that cannot persist or apply must not go on serving.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { createApiServer } from '../api/server.js';
import { createMetrics } from '../api/metrics.js';
import { IpamNode } from '../node/ipam-node.js';
import { nodeMetrics } from '../node/node-metrics.js';
import { DEFAULT_RAFT_TIMING } from '../node/timing.js';
import { DEFAULT_SNAPSHOT_LOG_RATIO } from '../raft/snapshot-policy.js';
import { releaseSnapshotMemory, SnapshotTrafficCollector } from './release-memory.js';
import { ConfigError, fromEnv, readConfigFile, resolveServeConfig, SETTINGS, type ServeConfig } from './serve-config.js';

export function registerServeCommand(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run one cluster member: Raft over TCP (mutual TLS unless --insecure), LevelDB storage, HTTP API')
    .option('--config <file>', 'JSON file of settings (camelCase names of the flags below)');
  const flags: Array<[keyof ServeConfig, string]> = [
    ['name', 'this member\'s id'],
    ['dataDir', 'directory for the Raft log, hard state and snapshots'],
    ['listenPeer', 'host:port for Raft peer traffic (default: this member\'s --initial-cluster entry)'],
    ['advertisePeer', 'host:port the other members reach this one at, when it differs from --listen-peer (default: this member\'s --initial-cluster entry, else --listen-peer)'],
    ['listenClient', 'host:port for the HTTP API'],
    ['advertiseClient', 'client URL published to the cluster (default http://<listen-client>)'],
    ['initialCluster', 'founding members, name=host:port,…'],
    ['initialClusterState', 'new (bootstrap) or existing (join a running cluster after members add)'],
    ['clusterId', 'cluster id checked on every peer frame and in the data directory (default raft-ipam)'],
    ['tlsDir', 'directory made by raft-ipam certs (ca.pem, <name>.pem, <name>-key.pem)'],
    ['token', 'bearer token required by the HTTP API'],
    ['tickMs', `Raft tick in ms (default ${DEFAULT_RAFT_TIMING.tickMs})`],
    ['electionTicks', `election timeout in ticks (default ${DEFAULT_RAFT_TIMING.electionTicks}; randomized up to twice that)`],
    ['heartbeatTicks', `heartbeat interval in ticks (default ${DEFAULT_RAFT_TIMING.heartbeatTicks})`],
    ['readMode', 'safe (ReadIndex, default) or lease'],
    ['snapshotEntries', 'applied entries between snapshots, plus up to a fifth by node name (default 10000)'],
    ['snapshotLogRatio', `and log bytes since the last snapshot at least this times its size (default ${DEFAULT_SNAPSHOT_LOG_RATIO}; 0: entries alone)`],
    ['requestTimeoutMs', 'deadline of a command or linearizable read (default 5000)'],
    ['logLevel', 'fatal|error|warn|info|debug|trace|silent (default info)'],
  ];
  for (const [key, help] of flags) cmd.option(`--${SETTINGS[key]} <value>`, help);
  cmd.option('--insecure', 'plaintext peer traffic without authentication (development only)');
  cmd.action(async (opts: Record<string, unknown>) => {
    let config: ServeConfig;
    try {
      const file = typeof opts.config === 'string' ? await readConfigFile(opts.config) : {};
      const { config: _file, ...rest } = opts;
      void _file;
      config = resolveServeConfig(rest, fromEnv(process.env), file);
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(`error [${e.code}]: ${e.message}`);
        process.exit(2);
      }
      throw e;
    }
    await serve(config);
  });
}

/**
 * RAFT_IPAM_UNSAFE_FAULT=stale-reads starts a deliberately broken node (IpamNodeOptions.unsafeFault): the
 * chaos suite's proof that its checker catches a real bug. Read from the environment only, never from a
 * flag or a config file, so no operator turns it on by accident.
 */
function unsafeFault(): 'stale-reads' | undefined {
  const v = process.env.RAFT_IPAM_UNSAFE_FAULT;
  if (v === undefined || v === '') return undefined;
  if (v !== 'stale-reads') {
    console.error(`error [InvalidConfig]: RAFT_IPAM_UNSAFE_FAULT must be stale-reads (or unset), got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return v;
}

export async function serve(config: ServeConfig): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { node: config.name } });
  const fault = unsafeFault();
  if (fault) logger.warn({ fault }, 'UNSAFE FAULT INJECTED: this node is deliberately broken (RAFT_IPAM_UNSAFE_FAULT); never use it for real data');
  const metrics = createMetrics();
  let node: IpamNode | undefined;
  // The gauges read the node at scrape time; before it has started there is nothing to report.
  const observer = nodeMetrics(metrics.registry, () => {
    const n = node;
    return n ? { status: () => n.raftReplica.status(), stateMachine: () => n.stateMachine(), transportStats: () => n.transportStats() } : undefined;
  });
  let exitCode = 0;
  try {
    const snapshotGarbage = new SnapshotTrafficCollector();
    node = await IpamNode.start({
      name: config.name,
      dataDir: config.dataDir,
      clusterId: config.clusterId,
      initialCluster: config.initialCluster,
      initialClusterState: config.initialClusterState,
      listenPeer: config.listenPeer,
      advertisePeer: config.advertisePeer,
      clientUrl: config.advertiseClient,
      ...(config.tlsDir ? { tlsDir: config.tlsDir } : { insecure: true }),
      tickMs: config.tickMs,
      electionTicks: config.electionTicks,
      heartbeatTicks: config.heartbeatTicks,
      readMode: config.readMode,
      snapshotEntries: config.snapshotEntries,
      snapshotLogRatio: config.snapshotLogRatio,
      requestTimeoutMs: config.requestTimeoutMs,
      ...(fault ? { unsafeFault: fault } : {}),
      observer: {
        ...observer,
        softState(s, term) {
          observer.softState?.(s, term);
          logger.info({ role: s.role, leader: s.lead, term }, 'raft state');
        },
        snapshotInstalled(index, bytes) {
          observer.snapshotInstalled?.(index, bytes);
          // After the replica has let go of the received bytes (it still holds them in this call).
          setImmediate(releaseSnapshotMemory);
        },
        snapshotTraffic(direction, bytes) {
          observer.snapshotTraffic?.(direction, bytes);
          snapshotGarbage.add(bytes);
        },
      },
      onFatal: (e) => {
        logger.fatal({ err: e }, 'stopping: this replica cannot go on');
        exitCode = 1;
        void shutdown('fatal');
      },
    });
  } catch (e) {
    logger.fatal({ err: e }, 'could not start');
    console.error(`error [${(e as { code?: string }).code ?? 'StartFailed'}]: ${(e as Error).message}`);
    process.exit(2);
  }
  // The snapshot this node booted from (if any) is restored and its bytes dropped.
  releaseSnapshotMemory();
  const api = createApiServer(node, { logger, metrics: metrics.registry, ...(config.token ? { token: config.token } : {}) });
  const [host, port] = splitHostPort(config.listenClient);
  await api.listen({ host, port });
  logger.info({ peer: config.listenPeer, advertisedPeer: config.advertisePeer, client: config.advertiseClient, members: Object.keys(config.initialCluster) }, 'serving');

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ why }, 'shutting down');
      await api.close().catch(() => undefined);
      await node?.stop().catch((e: unknown) => logger.error({ err: e }, 'stop failed'));
      logger.flush();
      process.exit(exitCode);
    })());
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

function splitHostPort(text: string): [string, number] {
  const i = text.lastIndexOf(':');
  return [text.slice(0, i).replace(/^\[|\]$/g, ''), Number(text.slice(i + 1))];
}
