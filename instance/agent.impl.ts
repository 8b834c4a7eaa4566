// Fills the agent machine's effect slots with real PostgreSQL, lease and OS work.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import { existsSync } from 'node:fs';
import type { agentMachine } from '../machines/agent/agent.machine.js';
import type { ClaimResult, DataDirState, DemoteInput, RejoinInput, RoleInput, SupervisorInput } from '../machines/agent/agent.types.js';
import { isBootstrapped, bootstrapDataDir, type BootstrapProgress } from './bootstrap.js';
import type { PostgresSupervisor } from './supervisor.js';
import type { InstanceRuntime } from './runtime.js';
import { readSecret } from './files.js';
import { standbySignal } from './layout.js';
import { REPLICATION_USER, SUPERUSER } from '../adapters/instance/spec.js';
import { synchronousStandbyNames } from './sync.js';
import { bootstrapOwner } from './owner.js';
import { userParameters, userHbaRules } from './render.js';
import { promote, demote, rejoin, checkpointAfterPromotion, ensureOwnSlot } from './roles.js';
import { repositoryKey } from './repository-change.js';
import { ensureStanza, pushEarlierTimelines } from './pgbackrest.js';
import { withClient } from '../adapters/sql/connect.js';
import { reloadAndConfirm } from '../adapters/sql/pending-restart.js';
import { ensureRole, ensureDatabase, setPassword } from '../adapters/sql/roles.js';
import { isInstanceHolder, type PrimaryLease } from '../adapters/lease/primary-lease.js';
import type { TimelineHistories } from '../adapters/lease/timeline-histories.js';
import type { Logger } from '../adapters/logging/logger.js';

export interface AgentDeps {
  rt: InstanceRuntime;
  supervisor: PostgresSupervisor;
  lease: PrimaryLease | null;
  histories: TimelineHistories | null;
  log: Logger;
  onProgress: (p: BootstrapProgress | null) => void;
  onLeaseRenew?: (ok: boolean) => void;
  now?: () => number;
  /** Drills (local platform): milliseconds every configuration reload is held. */
  reconfigureDelayMs?: () => number;
}

/** Where the lease says this instance stands: lead, follow someone, or wait for an operator plan to finish. */
export async function decideLease(deps: AgentDeps, mayAcquire: boolean): Promise<ClaimResult> {
  const spec = deps.rt.spec();
  if (!deps.lease || !spec.lease) return { kind: 'granted' };
  const me = { holder: spec.name, host: spec.host, port: spec.port };
  const [state, record] = await Promise.all([deps.lease.read(), deps.lease.readPrimary()]);
  const holder = state.holder;
  // Ours without asking: a switchover rolled back handed it back to this demoted primary, whose claim renews it.
  if (holder?.holder === spec.name && !mayAcquire) return { kind: 'granted' };
  if (holder?.holder === spec.name) return (await deps.lease.renew(spec.name, spec.lease.ttlMs)) ? { kind: 'granted' } : { kind: 'wait', reason: 'renewing our own lease' };
  if (holder && isInstanceHolder(holder)) return { kind: 'follow', primary: { name: holder.holder, host: holder.host, port: holder.port } };
  if (holder) return { kind: 'wait', reason: `the lease is held by ${holder.holder}` };
  if (record && record.name !== spec.name) {
    return { kind: 'follow', primary: { name: record.name, host: record.host, port: record.port } };
  }
  if (!mayAcquire) return { kind: 'granted' };
  const got = await deps.lease.acquire(me, spec.lease.ttlMs);
  if (got.acquired) {
    if (!record) await deps.lease.recordPrimary({ name: spec.name, host: spec.host, port: spec.port, timeline: 1, since: new Date().toISOString() });
    return { kind: 'granted' };
  }
  const h = got.holder;
  return h && isInstanceHolder(h) ? { kind: 'follow', primary: { name: h.holder, host: h.host, port: h.port } } : { kind: 'wait', reason: 'the lease was taken meanwhile' };
}

export function createAgentImplementations(deps: AgentDeps) {
  const { rt } = deps;
  const now = deps.now ?? Date.now;
  const progress = (p: BootstrapProgress) => { deps.onProgress(p); deps.log.info({ progress: p }, 'bootstrap progress'); };
  const reload = async () => { if (!deps.supervisor.reload()) await withClient(rt.superuser(), (c) => c.query('SELECT pg_reload_conf()')); };

  return {
    actors: {
      inspectDataDir: fromPromise<DataDirState, SupervisorInput>(async () => {
        const spec = rt.spec();
        return { initialized: isBootstrapped(spec), standby: existsSync(standbySignal(spec)) };
      }),

      bootstrapDataDir: fromPromise<void, SupervisorInput>(async ({ signal }) => {
        const spec = rt.spec();
        await bootstrapDataDir(spec, rt.user, progress, signal);
        deps.onProgress(null);
      }),

      claimLease: fromPromise<ClaimResult, SupervisorInput>(async () => {
        if (isBootstrapped(rt.spec())) return decideLease(deps, true);
        // A failed rejoin left the directory half-rewritten: it may follow a primary (and re-clone), never lead.
        const d = await decideLease(deps, false);
        return d.kind === 'follow' ? d : { kind: 'wait', reason: 'the data directory is incomplete (an interrupted rewind or clone); waiting for a primary to clone from' };
      }),

      rejoinPrimary: fromPromise<void, RejoinInput>(async ({ input, signal }) => {
        await deps.supervisor.stop('fast');
        await rejoin(rt, input.upstream, deps.log, progress, signal);
        deps.onProgress(null);
      }),

      runPostgres: fromCallback<AnyEventObject, SupervisorInput>(({ sendBack }) => deps.supervisor.start(sendBack)),

      primaryDuties: fromCallback<AnyEventObject, RoleInput>(({ input, sendBack, receive }) => {
        const spec = () => rt.spec();
        let primary = input.role === 'primary';
        let lastRenewed = now();
        let stopped = false;
        // The fencing deadline is its own timer, not the next renewal tick: a renewal that hangs, or ticks that come
        // late, must not push the fence closer to the moment another primary may be promoted.
        let deadline: NodeJS.Timeout | undefined;
        const armDeadline = () => {
          clearTimeout(deadline);
          const s = spec();
          if (!primary || stopped || !deps.lease || !s.lease) return;
          const ttl = s.lease.ttlMs;
          const due = lastRenewed + ttl - Math.max(1000, ttl * 0.3);
          deadline = setTimeout(() => {
            if (stopped || !primary || now() < lastRenewed + ttl - Math.max(1000, ttl * 0.3)) { armDeadline(); return; }
            stopped = true;
            sendBack({ type: 'lease.lost', reason: `could not renew the primary lease for ${now() - lastRenewed} ms (fencing deadline)` });
          }, Math.max(0, due - now()));
        };
        armDeadline();
        receive((e) => { if (e.type === 'role.primary') { primary = true; lastRenewed = now(); armDeadline(); } });
        const tick = async () => {
          const s = spec();
          if (!primary || stopped) return;
          if (deps.lease && s.lease) {
            const ttl = s.lease.ttlMs;
            const sentAt = now();
            // Frozen (a paused VM, SIGSTOP) past the TTL: the lease is gone by this agent's own clock, and another
            // primary may already exist. Fence without a round trip: the backends woke up with us.
            if (sentAt - lastRenewed >= ttl) {
              stopped = true;
              sendBack({ type: 'lease.lost', reason: `no renewal for ${sentAt - lastRenewed} ms (longer than the ${ttl} ms lease): this agent was frozen or stalled` });
              return;
            }
            try {
              const renewed = await deps.lease.renew(s.name, ttl);
              deps.onLeaseRenew?.(renewed);
              if (!renewed) { stopped = true; sendBack({ type: 'lease.lost', reason: 'the primary lease is held by someone else' }); return; }
              lastRenewed = sentAt;
              armDeadline();
            } catch (e) {
              deps.onLeaseRenew?.(false);
              // Fence before the TTL runs out: the store may already consider the lease gone.
              const margin = Math.max(1000, ttl * 0.3);
              if (now() - lastRenewed >= ttl - margin) {
                stopped = true;
                sendBack({ type: 'lease.lost', reason: `could not renew the primary lease for ${now() - lastRenewed} ms (${(e as Error).message})` });
                return;
              }
            }
          }
          if (s.synchronous) {
            const streaming = await withClient(rt.superuser(), async (c) =>
              (await c.query<{ name: string }>("SELECT application_name AS name FROM pg_stat_replication WHERE state = 'streaming'")).rows.map((r) => r.name), 1000).catch(() => null);
            const names = synchronousStandbyNames(s, streaming ?? []);
            if (streaming && names !== rt.syncNames) {
              deps.log.info({ from: rt.syncNames, to: names }, 'synchronous_standby_names changed');
              rt.syncNames = names;
              rt.writeConfig(false);
              await reload().catch(() => undefined);
            }
          }
        };
        // One renewal at a time: on a loaded node a renewal can outlast the interval, and two overlapping ones race on
        // the Kubernetes Lease's resourceVersion; the loser's 409 read as "held by someone else" fenced a healthy primary.
        let busy = false;
        const timer = setInterval(() => {
          if (busy) return;
          busy = true;
          void tick().finally(() => { busy = false; });
        }, spec().lease?.renewMs ?? 1000);
        return () => { stopped = true; clearInterval(timer); clearTimeout(deadline); };
      }),

      awaitLease: fromCallback<AnyEventObject, SupervisorInput>(({ sendBack }) => {
        let stopped = false;
        const tick = async () => {
          if (stopped) return;
          const d = await decideLease(deps, false).catch(() => ({ kind: 'wait' as const, reason: 'lease store unreachable' }));
          if (stopped) return;
          if (d.kind === 'granted') { stopped = true; sendBack({ type: 'lease.granted' }); }
          else if (d.kind === 'follow') { stopped = true; sendBack({ type: 'lease.follow', primary: d.primary }); }
        };
        const timer = setInterval(() => { void tick(); }, 1000);
        return () => { stopped = true; clearInterval(timer); };
      }),

      prepareInstance: fromPromise<void, RoleInput>(async ({ input }) => {
        const spec = rt.spec();
        if (input.role !== 'primary') {
          // Not a reason to hold the replica back: its primary may be unreachable right now (mid-failover).
          try {
            if (await ensureOwnSlot(rt)) deps.log.warn({ slot: spec.replicationSlot, primary: spec.primary }, 'replication slot was missing on the primary; created it');
          } catch (e) {
            deps.log.info({ slot: spec.replicationSlot, err: (e as Error).message }, 'replication slot on the primary not checked');
          }
          return;
        }
        const app = bootstrapOwner(spec);
        const dropped = [...userParameters(spec).refused, ...userHbaRules(spec).refused];
        if (dropped.length) deps.log.warn({ dropped }, 'left user settings out of the rendered configuration');
        rt.syncNames = synchronousStandbyNames(spec, []);
        rt.writeConfig(false);
        await withClient(rt.superuser(), async (c) => {
          await c.query('SELECT pg_reload_conf()');
          await setPassword(c, SUPERUSER, readSecret(spec.secrets.superuser));
          await ensureRole(c, REPLICATION_USER, readSecret(spec.secrets.replication), ['LOGIN', 'REPLICATION']);
          if (app) {
            await ensureRole(c, app.owner, readSecret(spec.secrets.app), ['LOGIN']);
            await ensureDatabase(c, app.database, app.owner);
          }
        });
        // Idempotent: a promoted replica or a restored cluster must archive into a stanza that exists.
        await prepareRepository(deps);
      }),

      applyConfig: fromPromise<void, SupervisorInput>(async () => {
        const held = deps.reconfigureDelayMs?.() ?? 0;
        if (held > 0) await new Promise((r) => setTimeout(r, held));
        const generation = rt.spec().configGeneration ?? null;
        rt.writeConfig();
        // pg_reload_conf() only signals the postmaster: wait until it has re-read the files, so what the agent then
        // reports (pending_restart, the generation loaded) is about the new configuration.
        const s = rt.spec();
        const primary = await withClient(rt.superuser(), async (c) => {
          await reloadAndConfirm(c);
          const isPrimary = !(await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r;
          // What pg_stat_archiver counted so far went to the old command (the discarding one, or another
          // repository): it must not stand for archiving into the new one.
          if (isPrimary && s.backup && rt.stanzaPreparedFor !== repositoryKey(s.backup)) {
            rt.repositoryChange = { key: repositoryKey(s.backup), error: null, confirmFrom: null };
            await c.query("SELECT pg_stat_reset_shared('archiver')");
          }
          return isPrimary;
        });
        rt.loadedGeneration = generation;
        // A repository added (or moved) while this primary runs: archive_command now names it, so its stanza must
        // exist before the next segment is archived (ADR 0044).
        if (primary && s.backup && rt.stanzaPreparedFor !== repositoryKey(s.backup)) await prepareRepository(deps);
      }),

      promoteReplica: fromPromise<void, SupervisorInput>(async () => {
        const timeline = await promote(rt, deps.lease, deps.histories);
        deps.log.info({ timeline }, 'promoted to primary');
        // Not awaited: the operator's plan (and the first write) need not wait for it.
        void checkpointAfterPromotion(rt).then(
          () => deps.log.info({ timeline }, 'checkpoint after promotion done'),
          (e: unknown) => deps.log.warn({ err: (e as Error).message }, 'checkpoint after promotion failed; the next one stamps the timeline'),
        );
      }),

      demotePrimary: fromPromise<{ checkpointLsn: string }, DemoteInput>(async ({ input }) => {
        const checkpointLsn = await demote(rt, deps.supervisor, deps.lease, input.handoverTo);
        deps.log.info({ checkpointLsn, handoverTo: input.handoverTo }, 'demoted');
        return { checkpointLsn };
      }),

      fencePostgres: fromPromise<void, SupervisorInput>(async () => {
        await deps.supervisor.stop('immediate');
        const s = rt.spec();
        if (deps.lease) await deps.lease.release(s.name).catch(() => undefined);
        deps.log.warn('fenced: postgres stopped, lease released');
      }),

      stopPostgres: fromPromise<void, SupervisorInput>(() => deps.supervisor.stop('fast')),
    },
  } satisfies Parameters<typeof agentMachine.provide>[0];
}

/**
 * The primary's repository work: stanza-create, push what earlier timelines left in pg_wal, then archive a segment.
 * Run at every primary start and when the spec's repository changes while it runs. A broken repository must not
 * keep the primary from serving: archiving then fails visibly (pg_stat_archiver).
 */
async function prepareRepository(deps: AgentDeps): Promise<void> {
  const { rt } = deps;
  const spec = rt.spec();
  if (!spec.backup) return;
  const key = repositoryKey(spec.backup);
  await ensureStanza(spec, rt.user).then(async () => {
    deps.log.info({ stanza: spec.backup?.stanza }, 'pgBackRest stanza ready');
    const timeline = await withClient(rt.superuser(), async (c) =>
      parseInt((await c.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0]?.f.slice(0, 8) ?? '1', 16));
    const pushed = await pushEarlierTimelines(spec, rt.user, timeline);
    if (pushed.length) deps.log.info({ pushed: pushed.length, first: pushed[0], last: pushed.at(-1) }, 'archived the earlier timeline segments held in pg_wal');
    // The archiver's attempts before the stanza existed failed, and its later success may sit in statistics a
    // restart discarded: archive a segment now (a restore point first, so the switch is never a no-op on an
    // idle cluster) so pg_stat_archiver, and ContinuousArchiving with it, shows that archiving works.
    const closed = await withClient(rt.superuser(), async (c) => {
      await c.query("SELECT pg_create_restore_point('pgop-archiving-ready')");
      return (await c.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    });
    rt.stanzaPreparedFor = key;
    if (rt.repositoryChange?.key === key) rt.repositoryChange.confirmFrom = closed;
  }).catch((e: unknown) => {
    if (rt.repositoryChange?.key === key) rt.repositoryChange.error = (e as Error).message.slice(0, 500);
    deps.log.error({ stanza: spec.backup?.stanza, err: (e as Error).message }, 'pgBackRest stanza-create or catch-up push failed; WAL archiving will fail until it succeeds');
  });
}
