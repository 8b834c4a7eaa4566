// POST /backup on the primary's agent (Kubernetes: the operator's worker cannot reach the data directory): a
// pgBackRest backup of this instance with its own config, annotated with the BackupJob's uid so a repeated request
// returns the backup it already took (and the list its expire removed, kept as annotations); then expire, the table fingerprint at a named restore point and `check` (which archives the WAL
// holding the fingerprint's position), as the worker does on the local platform. The body is checked at the door.
import type { OsUser } from '../adapters/os/os-user.js';
import { runCommand } from '../adapters/os/run-command.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { SUPERUSER } from '../adapters/instance/spec.js';
import { PGBACKREST_BIN } from '../adapters/backup/pgbackrest-config.js';
import { ANNOTATION, fingerprintRestorePoint, type InfoBackup } from '../adapters/backup/backup-step.js';
import { expireRecorded, beforeBackupAnnotation } from '../adapters/backup/expire-record.js';
import { takeFingerprint } from '../adapters/backup/fingerprint.js';
import type { TableFingerprint } from '../crds/backupjob.js';
import { pgbackrestConfPath } from './render.js';
import { readSecret } from './files.js';
import { BadRequest } from './api-auth.js';

export interface AgentBackupRequest { type: 'full' | 'diff' | 'incr'; uid: string; since: number }
export interface AgentBackupResponse { backup: InfoBackup; expired: string[]; fingerprint: TableFingerprint }


export function parseBackupRequest(body: Record<string, unknown>): AgentBackupRequest {
  const { type, uid, since } = body;
  if (type !== 'full' && type !== 'diff' && type !== 'incr') throw new BadRequest('type must be full, diff or incr');
  if (typeof uid !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(uid)) throw new BadRequest('uid must be the BackupJob uid (letters, digits, -)');
  if (typeof since !== 'number' || !Number.isFinite(since) || since < 0) throw new BadRequest('since must be a Unix time in seconds');
  return { type, uid, since };
}

export async function backupHere(spec: InstanceSpec, user: OsUser | null, req: AgentBackupRequest): Promise<AgentBackupResponse> {
  if (!spec.backup) throw new BadRequest(`cluster ${spec.cluster.name} has no spec.backup.repository`);
  const password = readSecret(spec.secrets.superuser);
  const tool = (args: string[]) => runCommand(PGBACKREST_BIN, [`--config=${pgbackrestConfPath(spec)}`, `--stanza=${spec.backup?.stanza ?? ''}`, ...args], { user, env: { PGPASSWORD: password } });
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
    await tool(['backup', `--type=${req.type}`, `--annotation=${ANNOTATION}=${req.uid}`, beforeBackupAnnotation(before.map((b) => b.label))]);
    done = await ours(await info());
    if (!done) throw new Error('pgbackrest reported success but info lists no backup annotated with this job');
  }
  // Recorded on the backup itself: a repeated request (the worker's retry) reports the same list.
  const expired = await expireRecorded({ tool, list: () => info() }, done);
  const fingerprint = await takeFingerprint({ host: spec.runDir, port: spec.port, user: SUPERUSER, password }, fingerprintRestorePoint(done.label), () => new Date().toISOString());
  await tool(['check']);
  return { backup: done, expired, fingerprint };
}
