import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, fromEnv, parseInitialCluster, readConfigFile, resolveServeConfig } from '../src/cli/serve-config.js';

const base = { name: 'n1', dataDir: '/tmp/x', listenClient: '127.0.0.1:8001', initialCluster: 'n1=127.0.0.1:7001,n2=127.0.0.1:7002', insecure: true };

describe('serve configuration', () => {
  it('flags override environment, which overrides the config file; defaults fill the rest', () => {
    const c = resolveServeConfig({ ...base, tickMs: '25' }, { tickMs: '40', electionTicks: '12' }, { electionTicks: 20, heartbeatTicks: 3, clusterId: 'prod' });
    expect(c).toMatchObject({ name: 'n1', tickMs: 25, electionTicks: 12, heartbeatTicks: 3, clusterId: 'prod', listenPeer: '127.0.0.1:7001', advertisePeer: '127.0.0.1:7001', advertiseClient: 'http://127.0.0.1:8001', initialClusterState: 'new', readMode: 'safe' });
    expect(c.initialCluster).toEqual({ n1: '127.0.0.1:7001', n2: '127.0.0.1:7002' });
  });

  it('advertise-peer: the founding entry by default, else the listener; flags over env over file', () => {
    // A listener moved behind a proxy still publishes the address every member was told.
    expect(resolveServeConfig({ ...base, listenPeer: '127.0.0.1:9001' }, {}, {})).toMatchObject({ listenPeer: '127.0.0.1:9001', advertisePeer: '127.0.0.1:7001' });
    const joining = { ...base, name: 'n3', initialClusterState: 'existing', listenPeer: '127.0.0.3:9003' };
    expect(resolveServeConfig(joining, {}, {}).advertisePeer).toBe('127.0.0.3:9003');
    expect(resolveServeConfig(joining, {}, { advertisePeer: '127.0.0.3:7003' }).advertisePeer).toBe('127.0.0.3:7003');
    expect(resolveServeConfig(joining, fromEnv({ RAFT_IPAM_ADVERTISE_PEER: '127.0.0.3:7004' }), { advertisePeer: '127.0.0.3:7003' }).advertisePeer).toBe('127.0.0.3:7004');
    expect(resolveServeConfig({ ...joining, advertisePeer: '127.0.0.3:7005' }, fromEnv({ RAFT_IPAM_ADVERTISE_PEER: '127.0.0.3:7004' }), {}).advertisePeer).toBe('127.0.0.3:7005');
    expect(() => resolveServeConfig(joining, { advertisePeer: 'x:y' }, {})).toThrow(/--advertise-peer/);
  });

  it('--snapshot-log-ratio: a decimal ≥ 0 from flags, environment or file; 0.5 by default', () => {
    expect(resolveServeConfig(base, {}, {}).snapshotLogRatio).toBe(0.5);
    expect(resolveServeConfig({ ...base, snapshotLogRatio: '0' }, {}, {}).snapshotLogRatio).toBe(0);
    expect(resolveServeConfig(base, fromEnv({ RAFT_IPAM_SNAPSHOT_LOG_RATIO: '1.25' }), {}).snapshotLogRatio).toBe(1.25);
    expect(resolveServeConfig(base, {}, { snapshotLogRatio: 2 }).snapshotLogRatio).toBe(2);
  });

  it('reads RAFT_IPAM_* variables', () => {
    expect(envName('dataDir')).toBe('RAFT_IPAM_DATA_DIR');
    expect(fromEnv({ RAFT_IPAM_DATA_DIR: '/d', RAFT_IPAM_INSECURE: 'true', OTHER: 'x' })).toEqual({ dataDir: '/d', insecure: 'true' });
  });

  it('refuses bad settings with a message naming the setting and its source', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, initialCluster: 'n1=nowhere' }, /--initial-cluster/],
      [{ ...base, initialCluster: 'n1=127.0.0.1:7001,n1=127.0.0.1:7002' }, /listed twice/],
      [{ ...base, name: 'n9' }, /must list this node/],
      [{ ...base, insecure: undefined }, /--tls-dir/],
      [{ ...base, tlsDir: '/certs' }, /not both/],
      [{ ...base, tickMs: '0' }, /--tick-ms/],
      [{ ...base, heartbeatTicks: '10' }, /below --election-ticks/],
      [{ ...base, readMode: 'fast' }, /--read-mode/],
      [{ ...base, snapshotLogRatio: '-1' }, /--snapshot-log-ratio/],
      [{ ...base, snapshotLogRatio: '1e3x' }, /--snapshot-log-ratio/],
      [{ ...base, snapshotLogRatio: 'NaN' }, /--snapshot-log-ratio/],
      [{ ...base, listenClient: 'localhost' }, /--listen-client/],
      [{ ...base, dataDir: undefined }, /--data-dir is required/],
      [{ ...base, advertisePeer: '127.0.0.1:7009' }, /--advertise-peer 127.0.0.1:7009 differs from this node's --initial-cluster entry n1=127.0.0.1:7001/],
      [{ ...base, advertisePeer: 'nowhere' }, /--advertise-peer: expected host:port/],
    ];
    for (const [flags, message] of bad) expect(() => resolveServeConfig(flags, {}, {}), JSON.stringify(flags)).toThrow(message);
    expect(() => resolveServeConfig({ ...base, tickMs: 'x' }, {}, {})).toThrow(ConfigError);
    expect(() => resolveServeConfig({ ...base, tickMs: undefined }, { tickMs: '-1' }, {})).toThrow(/RAFT_IPAM_TICK_MS/);
  });

  it('config files: JSON objects of known settings only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'raft-ipam-cfg-'));
    try {
      await writeFile(join(dir, 'ok.json'), JSON.stringify({ dataDir: '/d', initialCluster: { n1: '127.0.0.1:7001' } }));
      await writeFile(join(dir, 'typo.json'), JSON.stringify({ dataDri: '/d' }));
      await writeFile(join(dir, 'bad.json'), '{');
      const file = await readConfigFile(join(dir, 'ok.json'));
      expect(resolveServeConfig({ name: 'n1', listenClient: '127.0.0.1:8001', insecure: true }, {}, file).initialCluster).toEqual({ n1: '127.0.0.1:7001' });
      await expect(readConfigFile(join(dir, 'typo.json'))).rejects.toThrow(/unknown settings dataDri/);
      await expect(readConfigFile(join(dir, 'bad.json'))).rejects.toThrow(/not JSON/);
      await expect(readConfigFile(join(dir, 'missing.json'))).rejects.toThrow(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses --initial-cluster lists', () => {
    expect(parseInitialCluster(' a=127.0.0.1:1 , b=[::1]:2 ')).toEqual({ a: '127.0.0.1:1', b: '[::1]:2' });
    expect(() => parseInitialCluster('')).toThrow(/no members/);
    expect(() => parseInitialCluster('a')).toThrow(/name=host:port/);
  });
});
