// `pgop instance`: the instance agent. Runs the agent machine with real effects, serves its HTTP API, and stops
// postgres cleanly on SIGTERM. Re-reads its spec on SIGHUP.
import { faultReader } from '../adapters/local/faults.js';
import { createActor, waitFor, type SnapshotFrom } from 'xstate';
import { agentMachine } from '../machines/agent/agent.machine.js';
import { createAgentImplementations } from './agent.impl.js';
import { postgresUser } from '../adapters/os/os-user.js';
import { createLogger } from '../adapters/logging/logger.js';
import { RedisPrimaryLease } from '../adapters/lease/redis-lease.js';
import { RedisTimelineHistories, type TimelineHistories } from '../adapters/lease/timeline-histories.js';
import { withClient } from '../adapters/sql/connect.js';
import { InstanceRuntime } from './runtime.js';
import { PostgresSupervisor } from './supervisor.js';
import { collectStatus, stateName } from './status.js';
import { createAgentMetrics } from './metrics.js';
import { backupHere, parseBackupRequest } from './backup-action.js';
import { verifyHere, parseVerifyRequest } from './verify-action.js';
import { startAgentApi } from './http-api.js';
import { checkHandoverTo, checkReason } from './api-auth.js';
import { readSecret } from './files.js';
import type { BootstrapProgress } from './bootstrap.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { tlsOutdated } from './files.js';
import { readFileSync } from 'node:fs';
import { tlsFiles } from './layout.js';

/** Supervising states a replica passes through on its way to running: a promotion waits them out. */
const PASSING_STATES = (['starting', 'preparing', 'retryingPrepare', 'reconfiguring'] as const).map((s) => ({ up: { postgres: { supervising: s } } }));
/** The certificate postgres serves (the agent's own copy), or null before it is installed. */
const readCertificate = (spec: InstanceSpec): string | null => { try { return readFileSync(tlsFiles(spec).cert, 'utf8'); } catch { return null; } };
import type { PrimaryLease } from '../adapters/lease/primary-lease.js';

type Snap = SnapshotFrom<typeof agentMachine>;

/** What a platform changes about the agent: where the lease lives, and what follows a role change or a new spec. */
export interface AgentPlatformHooks {
  lease?: (spec: InstanceSpec, cut: () => boolean) => Promise<PrimaryLease>;
  /** Where the cluster's timeline histories live (default: a hash beside the Redis lease). */
  histories?: (spec: InstanceSpec, cut: () => boolean) => TimelineHistories;
  onRole?: (role: 'primary' | 'replica') => void;
  /** Called once running; `reload` re-reads the spec file (what SIGHUP does). */
  watchSpec?: (reload: () => void) => () => void;
  /** Called once postgres has stopped, just before the agent exits. */
  beforeExit?: () => void;
}

export async function runAgent(specPath: string, hooks: AgentPlatformHooks = {}): Promise<void> {
  // Until the machine runs, a reload request has nothing to reload; it must not kill the agent (SIGHUP's default).
  let onHangup = () => undefined as void;
  process.on('SIGHUP', () => onHangup());
  const rt = new InstanceRuntime(specPath, postgresUser());
  const spec = rt.spec();
  const log = createLogger('instance', { cluster: `${spec.cluster.namespace}/${spec.cluster.name}`, instance: spec.name });
  const supervisor = new PostgresSupervisor(rt, rt.user);
  const faults = faultReader(spec.faultsFile);
  const cut = () => faults().leaseStoreCut === true;
  const redisLease = spec.lease && !hooks.lease ? await RedisPrimaryLease.connect(spec.lease.url, spec.cluster, cut) : null;
  const lease = !spec.lease ? null : hooks.lease ? await hooks.lease(spec, cut) : redisLease;
  const histories = !spec.lease ? null : hooks.histories ? hooks.histories(spec, cut)
    : redisLease ? new RedisTimelineHistories(redisLease.connection, spec.cluster, cut) : null;
  let progress: BootstrapProgress | null = null;
  const metrics = createAgentMetrics({ cluster: spec.cluster.name, instance: spec.name });
  const impl = createAgentImplementations({ rt, supervisor, lease, histories, log, onProgress: (p) => { progress = p; }, onLeaseRenew: metrics.renewal,
    reconfigureDelayMs: () => faults().reconfigureDelayMs ?? 0 });
  const actor = createActor(agentMachine.provide(impl), {
    input: { instance: spec.name, bootstrap: spec.bootstrap.mode === 'clone' ? 'clone' : 'initdb', maxBackoffMs: 30_000, leaseMs: spec.lease?.ttlMs ?? 5000 },
  });
  let last = '';
  let lastRole = '';
  actor.subscribe((s) => {
    if (s.context.role !== lastRole && (s.context.role === 'primary' || s.context.role === 'replica')) hooks.onRole?.(s.context.role);
    lastRole = s.context.role;
    const state = stateName(s.value);
    if (state !== last) {
      log.info({ machine: 'agent', from: last || null, to: state, role: s.context.role, restarts: s.context.restarts, lastExit: s.context.lastExit, fenced: s.context.fencedReason }, 'agent state');
      metrics.transition(s.context.role);
      if (s.matches('fencing')) metrics.fenced();
    }
    last = state;
    rt.follow(s.context.upstream);
  });
  const status = () => collectStatus(rt, actor.getSnapshot(), supervisor.pid, progress, supervisor.binDir);
  const settle = async (ok: (s: Snap) => boolean, bad: (s: Snap) => string | null, timeoutMs: number) => {
    const s = await waitFor(actor, (x) => ok(x) || bad(x) !== null, { timeout: timeoutMs });
    const problem = bad(s);
    if (problem) throw new Error(problem);
    return s;
  };
  // Fail closed: an agent without its token would have to serve its API to anyone.
  const token = () => readSecret(rt.spec().secrets.agentToken);
  if (!spec.secrets.agentToken) throw new Error('the instance spec names no agent API token file (secrets.agentToken); the platform writes one with the cluster');
  if (!token()) throw new Error(`the agent API token file ${spec.secrets.agentToken} is empty`);
  await startAgentApi(spec.host, spec.httpPort, {
    token,
    status,
    onError: (err, path) => log.error({ err: err.message, path }, 'agent API request failed'),
    metrics: async () => {
      const s = await status();
      metrics.update(s);
      metrics.certificate(readCertificate(rt.spec()));
      metrics.updateArchive(s, rt.spec().backup ? rt.spec().dataDir : null);
      return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
    },
    actions: {
      promote: async () => {
        if (faults().promoteFails) throw new Error('promotion refused (drill: promoteFails)');
        const before = actor.getSnapshot();
        // A plan restored after a crash asks again: answer with the promotion that already happened.
        if (before.context.role === 'primary') return { promoted: false, already: true, ...(await status()) };
        // A replica reloading its configuration or finishing its start (a new Pod's first certificate, a spec change
        // arriving with the plan) is about to run: refusing would roll a switchover back over a moment's work.
        const ready = before.matches({ up: { postgres: { supervising: 'running' } } })
          ? before
          : await waitFor(actor, (x) => !PASSING_STATES.some((p) => x.matches(p)), { timeout: 10_000 }).catch(() => actor.getSnapshot());
        if (ready.context.role === 'primary') return { promoted: false, already: true, ...(await status()) };
        if (!ready.matches({ up: { postgres: { supervising: 'running' } } })) throw new Error(`cannot promote in state ${stateName(ready.value)}`);
        const errorBefore = ready.context.lastError;
        actor.send({ type: 'agent.promote' });
        await settle((s) => s.context.role === 'primary' && s.matches({ up: { postgres: { supervising: 'running' } } }),
          (s) => (s.matches({ up: { postgres: { supervising: 'running' } } }) && s.context.role !== 'primary' && s.context.lastError !== errorBefore ? s.context.lastError : null), 70_000);
        // Only the timeline: a full status (a fresh connection while the post-promotion checkpoint runs) would
        // hold the plan's next step back for nothing.
        return { promoted: true, role: 'primary', timeline: rt.promotedTimeline ?? (await status()).timeline };
      },
      demote: async (body) => {
        const handoverTo = checkHandoverTo(rt.spec(), body.handoverTo);
        const before = actor.getSnapshot();
        if (before.context.role !== 'primary') throw new Error('not the primary');
        // The machine takes agent.demote only while running: sent during a reload (a new replica's certificate, a
        // spec change arriving with the plan) it was dropped, and the plan waited its full minute for nothing, then
        // rolled back. Wait out the passing states as a promotion does; refuse at once, naming the state, otherwise.
        const demoted = (x: Snap) => x.matches('fenced') && x.context.demotedAt !== null;
        const running = (x: Snap) => x.matches({ up: { postgres: { supervising: 'running' } } });
        const ready = running(before) || demoted(before) ? before
          : await waitFor(actor, (x) => !PASSING_STATES.some((p) => x.matches(p)), { timeout: 10_000 }).catch(() => actor.getSnapshot());
        if (!running(ready) && !demoted(ready)) throw new Error(`cannot demote in state ${stateName(ready.value)}`);
        if (running(ready)) actor.send({ type: 'agent.demote', handoverTo });
        const s = await settle(demoted, (x) => (x.matches('fencing') ? x.context.lastError ?? 'demotion failed' : null), 60_000);
        return { demoted: true, checkpointLsn: s.context.demotedAt };
      },
      fence: async (body) => {
        actor.send({ type: 'agent.fence', reason: checkReason(body.reason, 'fenced by the operator') });
        await settle((s) => s.matches('fenced') || !s.matches('up'), () => null, 30_000);
        return { fenced: true };
      },
      // Kubernetes fencing (ADR 0037): postgres stays stopped, the Pod and this API stay (not ready). Idempotent: the
      // operator repeats it every pass, which also holds an agent that restarted in a fenced Pod.
      hold: async (body) => {
        if (!actor.getSnapshot().matches('held')) actor.send({ type: 'agent.hold', reason: checkReason(body.reason, 'fenced by the operator') });
        const now = actor.getSnapshot();
        // Bootstrapping, rejoining or promoting finish first (stopping them halfway helps nobody); the operator asks again.
        if (!now.matches('holding') && !now.matches('held')) throw new Error(`cannot hold in state ${stateName(now.value)} yet`);
        const s = await settle((x) => x.matches('held'), () => null, 120_000);
        return { held: true, state: stateName(s.value) };
      },
      release: async () => {
        const held = actor.getSnapshot().matches('held');
        if (held) actor.send({ type: 'agent.release' });
        return { released: held };
      },
      checkpoint: async () => {
        await withClient(rt.superuser(), (c) => c.query('CHECKPOINT'), 60_000);
        return { checkpoint: true };
      },
      // Kubernetes backups: the operator's worker asks the primary's agent, which has the data directory, or a
      // streaming standby's agent with the primary's address (prefer-standby, ADR 0035).
      backup: async (body) => {
        const req = parseBackupRequest(body);
        const role = actor.getSnapshot().context.role;
        if (req.primary && role !== 'replica') throw new Error(`${rt.spec().name} is not a standby (role ${role})`);
        if (!req.primary && role !== 'primary') throw new Error(`${rt.spec().name} is not the primary`);
        return backupHere(rt.spec(), rt.user, req);
      },
      // Kubernetes restore rehearsals: next to the repository volume, on whichever instance the operator asks.
      verify: async (body) => verifyHere(rt.spec(), rt.user, parseVerifyRequest(body)),
    },
  });
  actor.start();
  // Rotation: the platform replaces the certificate files; installing them and pg_reload_conf() serve the new
  // certificate to new connections without a restart (config.changed is acted on once postgres runs).
  const certWatch = setInterval(() => {
    try {
      if (tlsOutdated(rt.spec())) { log.info('server certificate changed; installing it and reloading'); actor.send({ type: 'config.changed' }); }
    } catch (e) { log.warn({ err: (e as Error).message }, 'cannot compare the certificate files'); }
  }, Number(process.env.PGOP_TLS_WATCH_MS ?? 5000));
  log.info({ httpPort: spec.httpPort, port: spec.port, dataDir: spec.dataDir, lease: spec.lease ? { ttlMs: spec.lease.ttlMs } : null }, 'agent started');

  const stop = (signal: string) => { log.info({ signal }, 'stopping'); actor.send({ type: 'agent.stop' }); };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  onHangup = () => {
    try { rt.reload(); } catch (e) { log.error({ err: (e as Error).message }, 'spec reload failed'); return; }
    log.info('spec reloaded');
    actor.send({ type: 'config.changed' });
  };
  const unwatch = hooks.watchSpec?.(() => onHangup());
  await new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve(), error: (e: unknown) => { log.error({ err: e }, 'agent machine failed'); resolve(); } }));
  unwatch?.();
  clearInterval(certWatch);
  await lease?.close();
  hooks.beforeExit?.();
  log.info('stopped');
  log.flush();
  process.exit(0);
}
