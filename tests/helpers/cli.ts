// Drives the real `pgop` binary the way a user does, each test with its own state directory.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { InstanceSpec } from '../../adapters/instance/spec.js';
import { connectRedis } from '../../adapters/redis/connection.js';

export const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const repoRoot = join(distRoot, '..');
export const pgopBin = join(distRoot, 'bin', 'pgop.js');
export const sample = (name: string) => join(repoRoot, 'crds', 'samples', name);

export interface CliResult { code: number; stdout: string; stderr: string }

export function pgop(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [pgopBin, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A state dir for one test; `down --purge` it when done. */
export function stateDir(prefix = 'pgop-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class LocalCluster {
  constructor(readonly state: string, readonly name = 'demo', readonly namespace = 'default') {}

  run(args: string[], timeoutMs?: number) { return pgop([...args, '--state-dir', this.state], {}, timeoutMs); }

  async ok(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`pgop ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  async get(): Promise<PostgresCluster> {
    return JSON.parse(await this.ok(['local', 'get', 'pgc', this.name, '-o', 'json'])) as PostgresCluster;
  }

  async uri(role: 'primary' | 'replica' = 'primary', user?: string): Promise<string> {
    return (await this.ok(['local', 'connect', this.name, '--role', role, ...(user ? ['--user', user] : [])])).trim();
  }

  /** The spec the platform gave an instance's agent (its ports). */
  instanceSpec(instance: string): InstanceSpec {
    return JSON.parse(readFileSync(join(this.state, 'instances', this.namespace, instance, 'instance.json'), 'utf8')) as InstanceSpec;
  }

  async waitFor(what: string, predicate: (c: PostgresCluster) => boolean, timeoutMs = 120_000): Promise<PostgresCluster> {
    const until = Date.now() + timeoutMs;
    let last: PostgresCluster | undefined;
    while (Date.now() < until) {
      last = await this.get().catch(() => undefined);
      if (last && predicate(last)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    const s = last?.status;
    const brief = s && { phase: s.phase, reason: s.phaseReason, primary: s.currentPrimary, timeline: s.timeline,
      instances: s.instances?.map((i) => `${i.name}:${i.role}:${i.phase}:${i.ready ? 'ready' : 'not ready'}:tl${i.timeline ?? '?'}`),
      plans: s.failovers?.map((f) => `${f.kind} ${f.from}→${f.to ?? '-'} ${f.outcome}`) };
    throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(brief)}\n${this.diagnose(last)}`);
  }

  /** What a reader of a CI log needs when a wait times out: the process and log tail of each unready instance. */
  diagnose(c: PostgresCluster | undefined): string {
    const tail = (file: string, n: number) => { try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return '(no log)'; } };
    const unready = (c?.status?.instances ?? []).filter((i) => !i.ready).map((i) => i.name);
    const parts = unready.map((name) => {
      const dir = join(this.state, 'instances', this.namespace, name);
      let pid = '';
      try { pid = readFileSync(join(dir, 'agent.pid'), 'utf8').trim(); } catch { /* no pid file */ }
      const proc = pid ? (() => { try { return readFileSync(`/proc/${pid.split(' ')[0]}/stat`, 'utf8').trim(); } catch { return 'not running'; } })() : 'no pid file';
      const severe = (() => {
        try { return readFileSync(join(dir, 'postgres', 'postgres.log'), 'utf8').split('\n').filter((l) => /\b(FATAL|PANIC):/.test(l)).slice(-5).join('\n'); } catch { return ''; }
      })();
      return `--- ${name}: agent pid ${pid || '-'} (${proc})\n${tail(join(dir, 'agent.log'), 25)}${severe ? `\n--- ${name}: postgres FATAL/PANIC\n${severe}` : ''}`;
    });
    return [...parts, `--- operator log\n${tail(join(this.state, 'daemon.log'), 25)}`].join('\n');
  }

  /** The cluster CA's public certificate, what clients verify the servers against. */
  caFile(): string { return join(this.state, 'clusters', this.namespace, this.name, 'tls', 'ca.crt'); }

  /** sslmode=verify-full against the cluster CA, for URIs built by tests. */
  tlsQuery(): string { return `sslmode=verify-full&sslrootcert=${encodeURIComponent(this.caFile())}`; }

  secret(name: 'superuser' | 'replication' | 'app'): string {
    return readFileSync(join(this.state, 'clusters', this.namespace, this.name, 'secrets', `${name}.password`), 'utf8').trim();
  }

  /** The bearer token the cluster's agents require on their API. */
  agentToken(): string {
    return readFileSync(join(this.state, 'clusters', this.namespace, this.name, 'secrets', 'agent.token'), 'utf8').trim();
  }

  /** GET /status of an instance's agent, as the operator asks it (with the token). */
  async agentStatus<T = Record<string, unknown>>(instance: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.instanceSpec(instance).httpPort}/status`, { headers: { authorization: `Bearer ${this.agentToken()}` } });
    if (!res.ok) throw new Error(`agent of ${instance} answered ${res.status}`);
    return (await res.json()) as T;
  }

  /** Who holds the primary lease right now (read from the platform's Redis). */
  async leaseHolder(): Promise<string | null> {
    const platform = JSON.parse(readFileSync(join(this.state, 'platform.json'), 'utf8')) as { redisUrl: string };
    const redis = connectRedis(platform.redisUrl);
    try {
      const value = await redis.get(`pgop:lease:${this.namespace}:${this.name}`);
      return value ? value.split('|')[0] ?? null : null;
    } finally {
      redis.disconnect();
    }
  }

  /** PGOP_TEST_KEEP_STATE=1 keeps the state directory (logs, data) of a failed run for a look. */
  async down(): Promise<void> { await this.run(['local', 'down', ...(process.env.PGOP_TEST_KEEP_STATE === '1' ? [] : ['--purge'])]); }
}

/** Processes whose command line mentions `needle` (the state dir), excluding this test process. */
export function processesMentioning(needle: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(needle) && !l.includes('ps -eo')).map((l) => l.trim());
}
