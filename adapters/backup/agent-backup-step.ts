// The runBackup step where the worker cannot reach the data directories (Kubernetes): an instance's agent runs
// pgBackRest (POST /backup) and answers with the backup as `info` lists it: a standby's agent for prefer-standby
// (ADR 0035), else the primary's. The BackupJob's uid annotates the backup, so a retried step gets the backup
// already taken instead of a second one.
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import type { StepProcessor } from '../../actors/queues/step-worker.js';
import { STEP_KINDS } from '../../actors/queues/queue-names.js';
import type { PostgresClusterSpec, PostgresClusterStatus } from '../../crds/postgrescluster.js';
import { stanzaName } from '../../crds/backup-repository.js';
import type { BackupRequest, BackupResult } from '../../machines/backup/backup.types.js';
import type { AgentClient } from '../agent-client.js';
import type { TableFingerprint } from '../../crds/backupjob.js';

/** The agent's answer to POST /backup. fingerprintError instead of fingerprint: the backup is good, its fingerprint could not be taken (the step says why). */
export interface AgentBackupResponse { backup: InfoBackup; expired: string[]; fingerprint?: TableFingerprint; fingerprintError?: string }
import { backupResult, describeRepository, LOCK_HELD, type InfoBackup } from './backup-step.js';

/**
 * The standby's pgBackRest could not keep a TLS session with the primary's server ([101], or [056] after a TLS
 * warning), or the server still presents a certificate without its new address (a CryptoError on the hostname).
 */
const PEER_TLS_FAILED = / refused: .*(TLS error|CryptoError)/is;
export const peerTlsFailed = (message: string) => PEER_TLS_FAILED.test(message);
const TLS_ATTEMPTS = 4;
const TLS_RETRY_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AgentBackupDeps {
  store: ResourceReader;
  agent(cluster: { namespace: string; name: string }, instance: string): Promise<AgentClient | null>;
}

export function runBackupViaAgentProcessor(deps: AgentBackupDeps): StepProcessor {
  return async (data, progress) => {
    const req = data as unknown as BackupRequest;
    if (req.kind === 'restore') throw new PermanentError('a restore is a new cluster: use spec.bootstrap.recovery');
    const cluster = await deps.store.get({ kind: 'PostgresCluster', namespace: req.namespace, name: req.cluster });
    if (!cluster) throw new PermanentError(`PostgresCluster ${req.namespace}/${req.cluster} not found`);
    const spec = cluster.spec as PostgresClusterSpec;
    if (!spec.backup) throw new PermanentError(`PostgresCluster ${req.cluster} has no spec.backup.repository; add one to take backups`);
    const repository = spec.backup.repository;
    const status = cluster.status as PostgresClusterStatus | undefined;
    const primary = status?.currentPrimary;
    if (!primary) throw new Error(`PostgresCluster ${req.cluster} has no primary yet`);
    const agent = await deps.agent({ namespace: req.namespace, name: req.cluster }, primary);
    if (!agent) throw new Error(`the primary ${primary} has no address yet`);
    const startedAt = new Date().toISOString();
    const body = { type: req.backupType, uid: req.uid, since: Math.floor((Date.parse(req.createdAt) || 0) / 1000) };
    const finish = (instance: string, r: AgentBackupResponse, note?: string): BackupResult => ({
      ...backupResult(r.backup, {
        instance, stanza: stanzaName(req.namespace, req.cluster), repository: describeRepository(repository),
        expired: r.expired, fingerprint: r.fingerprint, fingerprintError: r.fingerprintError,
      }),
      ...(note ? { note } : {}),
    });

    // prefer-standby (ADR 0035): the least-lagging ready (streaming) standby copies the files, reaching the
    // primary through the primary's pgBackRest TLS server. "Prefer": without one, or when it fails, the primary
    // backs up and the result says why.
    let note: string | undefined;
    if (req.target === 'prefer-standby') {
      const standby = (status?.instances ?? []).filter((i) => i.role === 'replica' && i.ready && i.name !== primary)
        .sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))[0]?.name;
      if (!standby) note = 'prefer-standby: no ready streaming standby; backed up on the primary';
      else {
        let sent = false;
        try {
          const [peer, standbyAgent] = await Promise.all([agent.status(10_000), deps.agent({ namespace: req.namespace, name: req.cluster }, standby)]);
          if (!standbyAgent) throw new Error(`${standby} has no address yet`);
          if (!peer.dataDir || !peer.socketDir) throw new Error(`the primary's agent does not report its directories (an older agent)`);
          await progress({ percent: null, detail: `pgbackrest ${req.backupType} backup on standby ${standby}`, startedAt } as never);
          sent = true;
          const ask = () => standbyAgent.post<AgentBackupResponse>('backup',
            { ...body, primary: { host: agent.endpoint.host, port: agent.endpoint.port, dataDir: peer.dataDir, socketDir: peer.socketDir } }, STEP_KINDS.runBackup.timeoutMs);
          // The primary's pgBackRest server restarts when its certificate is renewed (a new pod IP joins it on a
          // young cluster), and until then it may present one that does not name its address: the standby's TLS
          // session fails or ends mid-backup. A few more tries while that settles, then the fallback below.
          let r: AgentBackupResponse | undefined;
          for (let attempt = 1; !r; attempt++) {
            try { r = await ask(); } catch (e) {
              if (attempt >= TLS_ATTEMPTS || !peerTlsFailed((e as Error).message)) throw e;
              await progress({ percent: null, detail: `pgbackrest ${req.backupType} backup on standby ${standby}: TLS to the primary's pgBackRest server failed; try ${attempt + 1} of ${TLS_ATTEMPTS} in ${TLS_RETRY_MS / 1000} s`, startedAt } as never);
              await sleep(TLS_RETRY_MS);
            }
          }
          return finish(standby, r);
        } catch (e) {
          const message = (e as Error).message;
          // Fall back only when the standby answered (its backup is over) or was never asked. No answer (a timeout, a
          // dropped connection) or its lock held means a backup may still be running there: a second one from the
          // primary would write the same stanza at the same time, so the step fails and is retried instead.
          if (sent && (!/ refused: /.test(message) || LOCK_HELD.test(message))) throw e;
          note = `prefer-standby: the backup on standby ${standby} failed (${message.slice(0, 300)}); backed up on the primary`;
        }
      }
    }
    await progress({ percent: null, detail: `pgbackrest ${req.backupType} backup on ${primary}${note ? ` (${note})` : ''}`, startedAt } as never);
    const r = await agent.post<AgentBackupResponse>('backup', body, STEP_KINDS.runBackup.timeoutMs);
    return finish(primary, r, note);
  };
}
