// The side-by-side baseline: Patroni 3 with etcd (both from Debian) managing three PostgreSQL instances on this
// machine, behind a leader-following forwarder, killed and paused exactly like pgop's instances.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, openSync, closeSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';
import { freePort } from '../../adapters/local/ports.js';
import { processTree, signalTree } from '../../adapters/local/processes.js';
import { pgBinDir } from '../../adapters/local/postgres-install.js';
import type { System } from './trial.js';
import { LeaderForwarder } from './forwarder.js';
import { DcsCut } from './dcs-cut.js';

export interface PatroniTimings { ttl: number; loop_wait: number; retry_timeout: number }
export const PATRONI_DEFAULTS: PatroniTimings = { ttl: 30, loop_wait: 10, retry_timeout: 10 };
/** The lowest values Patroni's validator accepts that keep its rule loop_wait + 2 × retry_timeout ≤ ttl. */
export const PATRONI_FASTEST: PatroniTimings = { ttl: 20, loop_wait: 1, retry_timeout: 3 };

interface Node { name: string; pg: number; rest: number; dir: string; proc: ChildProcess | null; dcs: DcsCut; dcsPort: number }

const alive = (pid: number | undefined) => { if (!pid) return false; try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPatroni(mode: 'async' | 'required', timings: PatroniTimings, label: string): Promise<System & { stop(): Promise<void> }> {
  const user = postgresUser();
  const root = join('/var/lib/pgop-bench', randomBytes(4).toString('hex'));
  mkdirSync(root, { recursive: true, mode: 0o755 });
  handOver(root, user);
  const password = randomBytes(12).toString('hex');
  const etcdPort = await freePort();
  const peerPort = await freePort();
  const etcdLog = openSync(join(root, 'etcd.log'), 'a');
  const etcd = spawn('etcd', [
    '--name', 'bench', '--data-dir', join(root, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-cluster', `bench=http://127.0.0.1:${peerPort}`, '--enable-v2=true',
  ], { stdio: ['ignore', etcdLog, etcdLog], detached: true });
  closeSync(etcdLog);
  for (let i = 0; i < 100; i++) { if (await fetch(`http://127.0.0.1:${etcdPort}/health`).then((r) => r.ok, () => false)) break; await sleep(100); }

  const nodes: Node[] = [];
  for (let i = 1; i <= 3; i++) {
    const dir = join(root, `node${i}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    handOver(dir, user);
    const dcs = new DcsCut(etcdPort);
    const dcsPort = await freePort();
    await dcs.start(dcsPort);
    nodes.push({ name: `node${i}`, pg: await freePort(), rest: await freePort(), dir, proc: null, dcs, dcsPort });
  }
  const config = (n: Node) => ({
    scope: 'bench', name: n.name,
    restapi: { listen: `127.0.0.1:${n.rest}`, connect_address: `127.0.0.1:${n.rest}` },
    // Through the node's own relay, which can cut it off from etcd (the partition scenario).
    // use_proxies: no topology discovery, or its etcd client would learn etcd's own address and bypass the relay.
    etcd: { host: `127.0.0.1:${n.dcsPort}`, use_proxies: true },
    bootstrap: {
      dcs: {
        ...timings, maximum_lag_on_failover: 1048576,
        ...(mode === 'required' ? { synchronous_mode: true, synchronous_mode_strict: true } : {}),
        postgresql: { use_pg_rewind: true, parameters: { wal_log_hints: 'on', max_wal_senders: 10, max_replication_slots: 10 } },
      },
      initdb: [{ encoding: 'UTF8' }, 'data-checksums'],
      pg_hba: ['local all all trust', 'host replication replicator 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256'],
    },
    postgresql: {
      listen: `127.0.0.1:${n.pg}`, connect_address: `127.0.0.1:${n.pg}`, data_dir: join(n.dir, 'data'), bin_dir: pgBinDir(15),
      pgpass: join(n.dir, 'pgpass'),
      authentication: { superuser: { username: 'postgres', password }, replication: { username: 'replicator', password }, rewind: { username: 'postgres', password } },
      parameters: { unix_socket_directories: n.dir, password_encryption: 'scram-sha-256' },
    },
  });
  const startNode = (n: Node) => {
    const file = join(n.dir, 'patroni.yml');
    writeFileSync(file, stringify(config(n)));
    handOver(file, user);
    const log = openSync(join(n.dir, 'patroni.log'), 'a');
    n.proc = spawn('patroni', [file], { stdio: ['ignore', log, log], detached: true, cwd: n.dir, ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    closeSync(log);
  };
  for (const n of nodes) { startNode(n); await sleep(500); }

  const forwarder = new LeaderForwarder(nodes);
  const rwPort = await freePort();
  await forwarder.start(rwPort);
  type Member = { name: string; role: string; state: string; lag?: number | string };
  const clusterView = async (): Promise<{ members: Member[] }> => {
    for (const n of nodes) {
      try {
        const r = await fetch(`http://127.0.0.1:${n.rest}/cluster`, { signal: AbortSignal.timeout(1000) });
        if (r.ok) return (await r.json()) as { members: Member[] };
      } catch { /* try the next node */ }
    }
    return { members: [] };
  };
  const primary = async () => (await clusterView()).members.find((m) => m.role === 'leader')?.name ?? '';
  const postmaster = (n: Node) => {
    const f = join(n.dir, 'data', 'postmaster.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').split('\n')[0]) : undefined;
  };
  // Every process of the node: Patroni's group, the postmaster and all their descendants (backends and walsenders
  // included), exactly as pgop's instances are frozen and killed.
  const signalNode = (n: Node, sig: NodeJS.Signals) => {
    const patroni = n.proc?.pid;
    signalTree(() => processTree([patroni, postmaster(n)], patroni && alive(patroni) ? [patroni] : []), sig);
  };
  const byName = (name: string) => nodes.find((n) => n.name === name);

  const sys = {
    name: label,
    rwUri: async () => `postgresql://postgres:${password}@127.0.0.1:${rwPort}/postgres?sslmode=disable`,
    primary,
    killPrimary: async () => {
      const leader = byName(await primary());
      if (!leader) throw new Error('no Patroni leader');
      signalNode(leader, 'SIGKILL');
      // Like a lost pod, the node comes back later and must rejoin; not before another leader took over, or
      // Patroni would simply resume in place under its still-valid leader key and nothing would fail over.
      void (async () => {
        const end = Date.now() + (timings.ttl * 2 + 10) * 1000;
        while (Date.now() < end) {
          const now = await primary();
          if (now && now !== leader.name) break;
          await sleep(250);
        }
        startNode(leader);
      })();
      return leader.name;
    },
    pause: async (name: string, ms: number) => {
      const n = byName(name);
      if (!n) throw new Error(`no node ${name}`);
      signalNode(n, 'SIGSTOP');
      await sleep(ms);
      signalNode(n, 'SIGCONT');
    },
    portOf: async (name: string) => byName(name)?.pg ?? 0,
    partition: async (name: string) => { byName(name)?.dcs.partition(); },
    heal: async (name: string) => { byName(name)?.dcs.heal(); },
    waitHealthy: async (timeoutMs: number) => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const view = await clusterView();
        // Like pgop's Ready: every replica streaming and caught up, so the next trial starts from the same footing.
        if (view.members.length === 3 && view.members.some((m) => m.role === 'leader')
          && view.members.every((m) => (m.state === 'running' || m.state === 'streaming') && (m.role === 'leader' || m.lag === 0))) return;
        await sleep(500);
      }
      throw new Error(`Patroni cluster not healthy within ${timeoutMs} ms: ${JSON.stringify(await clusterView())}`);
    },
    stop: async () => {
      await forwarder.stop();
      for (const n of nodes) signalNode(n, 'SIGKILL');
      for (const n of nodes) await n.dcs.stop();
      try { process.kill(-(etcd.pid ?? 0), 'SIGKILL'); } catch { /* gone */ }
      await sleep(500);
      rmSync(root, { recursive: true, force: true });
    },
  };
  await sys.waitHealthy(180_000);
  return sys;
}
