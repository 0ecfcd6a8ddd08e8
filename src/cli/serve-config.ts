/**
 * Configuration of `raft-ipam serve`, from three sources in the order an etcd operator expects: command
 * line flags override environment variables (RAFT_IPAM_<FLAG>, e.g. RAFT_IPAM_DATA_DIR), which override a
 * JSON config file (--config), which overrides the defaults. Everything is validated here, before any
 * file is opened or port bound; a bad value is a ConfigError naming the setting and where it came from.
 */
import { readFile } from 'node:fs/promises';
import { checkMember } from '../node/cluster-app.js';
import { DEFAULT_RAFT_TIMING } from '../node/timing.js';
import { DEFAULT_SNAPSHOT_LOG_RATIO } from '../raft/snapshot-policy.js';

export interface ServeConfig {
  name: string;
  dataDir: string;
  /** host:port of the Raft peer listener. */
  listenPeer: string;
  /**
   * host:port this member publishes as its peer address (etcd's --initial-advertise-peer-urls): where the
   * others reach it when that is not where it listens (a proxy, NAT, the chaos harness's relays).
   */
  advertisePeer: string;
  /** host:port of the HTTP API. */
  listenClient: string;
  /** The client URL other members hand to clients (default http://<listenClient>). */
  advertiseClient: string;
  initialCluster: Record<string, string>;
  initialClusterState: 'new' | 'existing';
  clusterId: string;
  tlsDir: string | undefined;
  insecure: boolean;
  token: string | undefined;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  readMode: 'safe' | 'lease';
  snapshotEntries: number;
  snapshotLogRatio: number;
  requestTimeoutMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'InvalidConfig';
}

/** Setting name (camelCase, as in the config file) → its flag and environment variable. */
export const SETTINGS = {
  name: 'name',
  dataDir: 'data-dir',
  listenPeer: 'listen-peer',
  listenClient: 'listen-client',
  advertisePeer: 'advertise-peer',
  advertiseClient: 'advertise-client',
  initialCluster: 'initial-cluster',
  initialClusterState: 'initial-cluster-state',
  clusterId: 'cluster-id',
  tlsDir: 'tls-dir',
  insecure: 'insecure',
  token: 'token',
  tickMs: 'tick-ms',
  electionTicks: 'election-ticks',
  heartbeatTicks: 'heartbeat-ticks',
  readMode: 'read-mode',
  snapshotEntries: 'snapshot-entries',
  snapshotLogRatio: 'snapshot-log-ratio',
  requestTimeoutMs: 'request-timeout-ms',
  logLevel: 'log-level',
} as const satisfies Record<keyof ServeConfig, string>;

type Key = keyof typeof SETTINGS;
type Raw = Partial<Record<Key, unknown>>;

export function envName(key: Key): string {
  return `RAFT_IPAM_${SETTINGS[key].toUpperCase().replaceAll('-', '_')}`;
}

/** `n1=127.0.0.1:7001,n2=127.0.0.1:7002` → { n1: '127.0.0.1:7001', … } */
export function parseInitialCluster(text: string, source = '--initial-cluster'): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${source}: expected name=host:port, got ${JSON.stringify(part)}`);
    const id = part.slice(0, eq);
    const addr = part.slice(eq + 1);
    if (id in out) throw new ConfigError(`${source}: ${id} is listed twice`);
    try {
      checkMember({ id, peerUrl: addr });
    } catch (e) {
      throw new ConfigError(`${source}: ${(e as Error).message}`);
    }
    out[id] = addr;
  }
  if (Object.keys(out).length === 0) throw new ConfigError(`${source}: no members listed`);
  return out;
}

export async function readConfigFile(path: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`--config ${path}: not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`--config ${path}: expected a JSON object of settings`);
  const unknown = Object.keys(raw).filter((k) => !(k in SETTINGS));
  if (unknown.length > 0) throw new ConfigError(`--config ${path}: unknown settings ${unknown.join(', ')} (known: ${Object.keys(SETTINGS).join(', ')})`);
  return raw as Raw;
}

export function fromEnv(env: NodeJS.ProcessEnv): Raw {
  const out: Raw = {};
  for (const key of Object.keys(SETTINGS) as Key[]) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

/** Merge flags over env over file, then validate every setting. */
export function resolveServeConfig(flags: Raw, env: Raw, file: Raw): ServeConfig {
  const pick = (key: Key): { value: unknown; source: string } | undefined => {
    if (flags[key] !== undefined) return { value: flags[key], source: `--${SETTINGS[key]}` };
    if (env[key] !== undefined) return { value: env[key], source: envName(key) };
    if (file[key] !== undefined) return { value: file[key], source: `config file setting ${key}` };
    return undefined;
  };
  const str = (key: Key, fallback?: string): string => {
    const p = pick(key);
    if (!p) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`--${SETTINGS[key]} is required (or ${envName(key)}, or "${key}" in the config file)`);
    }
    if (typeof p.value !== 'string' || p.value === '') throw new ConfigError(`${p.source}: expected a non-empty string`);
    return p.value;
  };
  const int = (key: Key, fallback: number, min: number, max: number): number => {
    const p = pick(key);
    if (!p) return fallback;
    const n = typeof p.value === 'string' && /^\d+$/.test(p.value) ? Number(p.value) : p.value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${p.source}: expected an integer in ${min}..${max}, got ${JSON.stringify(p.value)}`);
    return n;
  };
  const decimal = (key: Key, fallback: number, min: number, max: number): number => {
    const p = pick(key);
    if (!p) return fallback;
    const n = typeof p.value === 'string' && /^\d+(\.\d+)?$/.test(p.value) ? Number(p.value) : p.value;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${p.source}: expected a number in ${min}..${max}, got ${JSON.stringify(p.value)}`);
    return n;
  };
  const bool = (key: Key): boolean => {
    const p = pick(key);
    if (!p) return false;
    if (p.value === true || p.value === 'true' || p.value === '1') return true;
    if (p.value === false || p.value === 'false' || p.value === '0') return false;
    throw new ConfigError(`${p.source}: expected true or false, got ${JSON.stringify(p.value)}`);
  };
  const oneOf = <T extends string>(key: Key, values: readonly T[], fallback: T): T => {
    const v = str(key, fallback);
    if (!(values as readonly string[]).includes(v)) throw new ConfigError(`--${SETTINGS[key]}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  const hostPort = (key: Key, fallback?: string): string => {
    const v = str(key, fallback);
    try {
      checkMember({ id: 'x', peerUrl: v });
    } catch {
      throw new ConfigError(`--${SETTINGS[key]}: expected host:port, got ${JSON.stringify(v)}`);
    }
    return v;
  };

  const name = str('name');
  const clusterPick = pick('initialCluster');
  if (!clusterPick) throw new ConfigError(`--initial-cluster is required (or ${envName('initialCluster')})`);
  const initialCluster =
    typeof clusterPick.value === 'string'
      ? parseInitialCluster(clusterPick.value, clusterPick.source)
      : parseInitialCluster(
          Object.entries((clusterPick.value ?? {}) as Record<string, unknown>)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(','),
          clusterPick.source,
        );
  const initialClusterState = oneOf('initialClusterState', ['new', 'existing'] as const, 'new');
  if (initialClusterState === 'new' && !(name in initialCluster)) throw new ConfigError(`--initial-cluster must list this node (${name}) when --initial-cluster-state is new`);
  const listenPeer = hostPort('listenPeer', initialCluster[name]);
  // What the others dial: the founding entry when there is one (it is what every member was told), else
  // the listener. An explicit value must agree with that entry, or members would disagree on the address.
  const advertisePeer = hostPort('advertisePeer', initialCluster[name] ?? listenPeer);
  const listed = initialCluster[name];
  if (listed !== undefined && listed !== advertisePeer) throw new ConfigError(`--advertise-peer ${advertisePeer} differs from this node's --initial-cluster entry ${name}=${listed}`);
  const listenClient = hostPort('listenClient');
  const advertiseClient = str('advertiseClient', `http://${listenClient}`);
  try {
    checkMember({ id: 'x', clientUrl: advertiseClient });
  } catch {
    throw new ConfigError(`--advertise-client: expected http(s)://host:port, got ${JSON.stringify(advertiseClient)}`);
  }
  const insecure = bool('insecure');
  const tlsDir = pick('tlsDir') ? str('tlsDir') : undefined;
  if (insecure && tlsDir) throw new ConfigError('choose --tls-dir (mutual TLS) or --insecure, not both');
  if (!insecure && !tlsDir) throw new ConfigError('peer traffic needs --tls-dir DIR (mutual TLS; make one with raft-ipam certs) or an explicit --insecure');
  const electionTicks = int('electionTicks', DEFAULT_RAFT_TIMING.electionTicks, 2, 1000);
  const heartbeatTicks = int('heartbeatTicks', DEFAULT_RAFT_TIMING.heartbeatTicks, 1, 999);
  if (heartbeatTicks >= electionTicks) throw new ConfigError(`--heartbeat-ticks (${heartbeatTicks}) must be below --election-ticks (${electionTicks})`);
  return {
    name,
    dataDir: str('dataDir'),
    listenPeer,
    advertisePeer,
    listenClient,
    advertiseClient,
    initialCluster,
    initialClusterState,
    clusterId: str('clusterId', 'raft-ipam'),
    tlsDir,
    insecure,
    token: pick('token') ? str('token') : undefined,
    tickMs: int('tickMs', DEFAULT_RAFT_TIMING.tickMs, 1, 60_000),
    electionTicks,
    heartbeatTicks,
    readMode: oneOf('readMode', ['safe', 'lease'] as const, 'safe'),
    snapshotEntries: int('snapshotEntries', 10_000, 1, 100_000_000),
    snapshotLogRatio: decimal('snapshotLogRatio', DEFAULT_SNAPSHOT_LOG_RATIO, 0, 1000),
    requestTimeoutMs: int('requestTimeoutMs', 5000, 1, 600_000),
    logLevel: oneOf('logLevel', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  };
}
