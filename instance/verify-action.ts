// POST /verify on an agent (Kubernetes: the operator's worker cannot reach the repository volume): a restore
// rehearsal of this cluster's latest backup, run by the agent next to the repository it mounts, into a throwaway
// directory under the Pod's temp volume — the same rehearsal the worker runs on the local platform
// (adapters/backup/verify-step.ts: private postgres without a TCP listener, archiving off, amcheck, pg_checksums).
// The operator picks a ready replica when there is one, so the copy and the replay do not load the primary. The
// BackupJob's fingerprint comes in the body (the agent has no access to BackupJobs); it is checked at the door.
import type { OsUser } from '../adapters/os/os-user.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import type { TableFingerprint } from '../crds/backupjob.js';
import { BACKUP_LABEL_PATTERN, LSN_PATTERN, RESTORE_POINT_PATTERN } from '../crds/backup-repository.js';
import { rehearseLatest } from '../adapters/backup/verify-step.js';
import type { VerifyResult } from '../machines/restore-verify/restore-verify.types.js';
import { repoCredentials } from './files.js';
import { BadRequest } from './api-auth.js';

export interface AgentVerifyRequest { startedAt: string; fingerprint: { label: string; value: TableFingerprint } | null }

const isName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 63 && !v.includes('\u0000');
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseFingerprint(v: unknown): TableFingerprint {
  if (!isObj(v)) throw new BadRequest('fingerprint.value must be an object');
  const { lsn, restorePoint, takenAt, tables, tablesTotal } = v;
  if (typeof lsn !== 'string' || !new RegExp(LSN_PATTERN).test(lsn)) throw new BadRequest('fingerprint.value.lsn must be a WAL position');
  if (restorePoint !== undefined && (typeof restorePoint !== 'string' || !new RegExp(RESTORE_POINT_PATTERN).test(restorePoint))) {
    throw new BadRequest('fingerprint.value.restorePoint must be a restore point name');
  }
  if (typeof takenAt !== 'string' || Number.isNaN(Date.parse(takenAt))) throw new BadRequest('fingerprint.value.takenAt must be a time');
  if (!Array.isArray(tables) || tables.length > 500) throw new BadRequest('fingerprint.value.tables must be a list of at most 500 tables');
  if (!count(tablesTotal)) throw new BadRequest('fingerprint.value.tablesTotal must be a count');
  const out = tables.map((t: unknown, i) => {
    // Names reach SQL only as bind values and quoted identifiers (countTables); still, they must look like names.
    if (!isObj(t) || !isName(t.database) || !isName(t.schema) || !isName(t.table) || !count(t.rows)) {
      throw new BadRequest(`fingerprint.value.tables[${i}] must be { database, schema, table, rows }`);
    }
    return { database: t.database, schema: t.schema, table: t.table, rows: t.rows as number };
  });
  return { lsn, ...(restorePoint !== undefined ? { restorePoint } : {}), takenAt, tables: out, tablesTotal: tablesTotal as number };
}

export function parseVerifyRequest(body: Record<string, unknown>): AgentVerifyRequest {
  const { startedAt, fingerprint } = body;
  if (typeof startedAt !== 'string' || Number.isNaN(Date.parse(startedAt))) throw new BadRequest('startedAt must be a time');
  if (fingerprint === null || fingerprint === undefined) return { startedAt, fingerprint: null };
  if (!isObj(fingerprint) || typeof fingerprint.label !== 'string' || !new RegExp(BACKUP_LABEL_PATTERN).test(fingerprint.label)) {
    throw new BadRequest('fingerprint must be { label, value } with a backup label');
  }
  return { startedAt, fingerprint: { label: fingerprint.label, value: parseFingerprint(fingerprint.value) } };
}

export async function verifyHere(spec: InstanceSpec, user: OsUser | null, req: AgentVerifyRequest): Promise<VerifyResult> {
  const backup = spec.backup;
  if (!backup) throw new BadRequest(`cluster ${spec.cluster.name} has no spec.backup.repository`);
  const credentials = repoCredentials(backup);
  return rehearseLatest({
    stanza: backup.stanza, user, pgBinDir: spec.pgBinDir,
    access: { repository: backup.repository, ...(credentials ? { credentials } : {}), ...(backup.caFile ? { caFile: backup.caFile } : {}) },
    fingerprintFor: async (label) => (req.fingerprint?.label === label ? req.fingerprint.value : null),
  }, req.startedAt, async () => undefined, AbortSignal.timeout(6 * 3600_000));
}
