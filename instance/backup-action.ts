// POST /backup on an instance's agent (Kubernetes: the operator's worker cannot reach the data directory): a
// pgBackRest backup with this instance's config, annotated with the BackupJob's uid so a repeated request
// returns the backup it already took (and the list its expire removed, kept as annotations); then expire, the table
// fingerprint at a named restore point and `check` (which archives the WAL
// holding the fingerprint's position), as the worker does on the local platform. The body is checked at the door.
// With `primary` (prefer-standby, ADR 0035) this instance is a standby: pg1 is the primary reached through its
// `pgbackrest server` over TLS, pg2 this data directory, and pgBackRest copies the files from here.
import type { OsUser } from '../adapters/os/os-user.js';
import { runCommand } from '../adapters/os/run-command.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { SUPERUSER } from '../adapters/instance/spec.js';
import { PGBACKREST_BIN } from '../adapters/backup/pgbackrest-config.js';
import { ANNOTATION, fingerprintRestorePoint, type InfoBackup } from '../adapters/backup/backup-step.js';
import { expireRecorded, beforeBackupAnnotation } from '../adapters/backup/expire-record.js';
import { takeFingerprint } from '../adapters/backup/fingerprint.js';
import type { AgentBackupResponse } from '../adapters/backup/agent-backup-step.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { PGBACKREST_TLS_PORT, renderPgbackrestConf } from '../adapters/backup/pgbackrest-config.js';
import { pgbackrestConfPath } from './render.js';
import { installRepoCa, readSecret, repoCredentials, writeOwned } from './files.js';
import { BadRequest } from './api-auth.js';
import { tlsFiles } from './layout.js';
import { peerTls } from './runtime.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Several certificate beats (10 s) and spec refreshes (2 s) under load. */
const PEER_NAME_WAIT = { timeoutMs: 60_000, everyMs: 1_000 };

/** The primary as its own agent reports it: its pod IP, and its data and socket directories as its Pod sees them. */
export interface PrimaryPeer { host: string; port: number; dataDir: string; socketDir: string }
export interface AgentBackupRequest { type: 'full' | 'diff' | 'incr'; uid: string; since: number; primary?: PrimaryPeer }


export function parseBackupRequest(body: Record<string, unknown>): AgentBackupRequest {
  const { type, uid, since } = body;
  if (type !== 'full' && type !== 'diff' && type !== 'incr') throw new BadRequest('type must be full, diff or incr');
  if (typeof uid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(uid)) throw new BadRequest('uid must be the BackupJob uid (letters, digits, -)');
  if (typeof since !== 'number' || !Number.isFinite(since) || since < 0) throw new BadRequest('since must be a Unix time in seconds');
  if (body.primary === undefined) return { type, uid, since };
  const p = body.primary as Partial<Record<keyof PrimaryPeer, unknown>> | null;
  if (!p || typeof p !== 'object') throw new BadRequest('primary must be an object');
  if (typeof p.host !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(p.host)) throw new BadRequest('primary.host must be the primary pod IPv4 address');
  if (typeof p.port !== 'number' || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) throw new BadRequest('primary.port must be a TCP port');
  for (const k of ['dataDir', 'socketDir'] as const) {
    const v = p[k];
    if (typeof v !== 'string' || !/^\/[A-Za-z0-9._/-]{0,1023}$/.test(v) || /(^|\/)\.\.(\/|$)/.test(v)) throw new BadRequest(`primary.${k} must be an absolute path`);
  }
  return { type, uid, since, primary: { host: p.host, port: p.port, dataDir: p.dataDir as string, socketDir: p.socketDir as string } };
}

/**
 * pgBackRest 2.45 checks the address it dials only against the certificate's DNS names; the operator lists pod
 * IPs there once it has seen them (tls-policy.ts), which on a cluster just created is one renewal beat plus one spec
 * refresh away. So a missing name is waited for (the installed file is re-read) before it is said plainly, instead of
 * as a CryptoError mid-backup.
 */
export async function waitForPeerName(certFile: string, host: string, o: { timeoutMs: number; everyMs: number }): Promise<void> {
  const names = () => { try { return new X509Certificate(readFileSync(certFile, 'utf8')).subjectAltName ?? ''; } catch { return ''; } };
  for (const deadline = Date.now() + o.timeoutMs; !names().split(', ').includes(`DNS:${host}`);) {
    if (Date.now() >= deadline) {
      throw new Error(`the cluster certificate does not name the primary's address ${host} after ${Math.round(o.timeoutMs / 1000)} s (the operator adds pod IPs at its renewal check; user-provided certificates need it as a DNS name)`);
    }
    await sleep(o.everyMs);
  }
}

/** This standby's config for a standby backup: pg1 = the primary over TLS, pg2 = here (written each time, 0600). */
function writeStandbyConf(spec: InstanceSpec, user: OsUser | null, primary: PrimaryPeer): string {
  if (!spec.backup) throw new BadRequest(`cluster ${spec.cluster.name} has no spec.backup.repository`);
  const backup = installRepoCa(spec, spec.backup, user, 'repo-ca.crt');
  const tls = tlsFiles(spec);
  const file = join(spec.runDir, 'pgbackrest-standby.conf');
  writeOwned(file, renderPgbackrestConf({
    stanza: backup.stanza, repository: backup.repository, credentials: repoCredentials(backup), caFile: backup.caFile,
    pg: [
      { path: primary.dataDir, port: primary.port, socketPath: primary.socketDir, tls: { host: primary.host, port: PGBACKREST_TLS_PORT, certFile: tls.cert, keyFile: tls.key, caFile: tls.ca } },
      { path: spec.dataDir, port: spec.port, socketPath: spec.runDir },
    ],
    backupStandby: true, lockPath: join(spec.runDir, 'pgbackrest-lock'),
  }), user);
  return file;
}

export async function backupHere(spec: InstanceSpec, user: OsUser | null, req: AgentBackupRequest): Promise<AgentBackupResponse> {
  if (!spec.backup) throw new BadRequest(`cluster ${spec.cluster.name} has no spec.backup.repository`);
  const password = readSecret(spec.secrets.superuser);
  const run = (config: string, args: string[]) => runCommand(PGBACKREST_BIN, [`--config=${config}`, `--stanza=${spec.backup?.stanza ?? ''}`, ...args], { user, env: { PGPASSWORD: password } });
  const tool = (args: string[]) => run(pgbackrestConfPath(spec), args);
  if (req.primary) await waitForPeerName(tlsFiles(spec).cert, req.primary.host, PEER_NAME_WAIT);
  // backup and check reach the primary's postgres: through its pgBackRest server when this is a standby.
  const copying = req.primary ? writeStandbyConf(spec, user, req.primary) : pgbackrestConfPath(spec);
  const info = async (set?: string): Promise<InfoBackup[]> =>
    (JSON.parse(await tool(['info', '--output=json', ...(set ? [`--set=${set}`] : [])])) as { backup?: InfoBackup[] }[])[0]?.backup ?? [];
  const ours = async (list: InfoBackup[]) => {
    for (const b of [...list].reverse().filter((x) => x.timestamp.start >= req.since - 60)) {
      const full = (await info(b.label)).find((x) => x.label === b.label);
      if (full?.annotation?.[ANNOTATION] === req.uid) return full;
    }
    return undefined;
  };
  const before = await info().catch(() => [] as InfoBackup[]);
  let done = await ours(before);
  if (!done) {
    await run(copying, ['backup', `--type=${req.type}`, `--annotation=${ANNOTATION}=${req.uid}`, beforeBackupAnnotation(before.map((b) => b.label))]);
    done = await ours(await info());
    if (!done) throw new Error('pgbackrest reported success but info lists no backup annotated with this job');
  }
  // Recorded on the backup itself: a repeated request (the worker's retry) reports the same list.
  const expired = await expireRecorded({ tool, list: () => info() }, done);
  // Counted on the primary (a standby has no WAL insert position); over TLS from a standby, as the peers connect.
  // A fingerprint that cannot be taken or archived is reported as such: the backup itself is good.
  try {
    const fingerprint = await takeFingerprint(req.primary
      ? { host: req.primary.host, port: req.primary.port, user: SUPERUSER, password, tls: peerTls(spec) }
      : { host: spec.runDir, port: spec.port, user: SUPERUSER, password }, fingerprintRestorePoint(done.label), () => new Date().toISOString());
    await run(copying, ['check']);
    return { backup: done, expired, fingerprint };
  } catch (e) {
    return { backup: done, expired, fingerprintError: (e as Error).message };
  }
}
