// Where a cluster's backups and WAL archive live (pgBackRest repo1), and how a cluster is recovered from one.
// Every value here reaches the pgBackRest config file or argv, so each has a strict pattern (CRD + local
// admission) and the renderer (adapters/backup/pgbackrest-config.ts) checks the same patterns again.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, Name, HINT } from './schema-kit.js';

/**
 * Absolute path, plain characters only, no `..` segment: it is written into a config file and a shell command.
 * Its length (1024) is the schema's maxLength: the apiserver's regular expressions allow at most 1000 repeats.
 */
export const REPO_PATH_PATTERN = '^/[A-Za-z0-9._/-]*$';
/** A DNS name, optionally with a port (`s3.example.com`, `localhost:9000`). IP literals are refused: pgBackRest 2.45 does not match IP subjectAltNames. */
export const S3_ENDPOINT_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$';
/** IPv4 literals match the DNS pattern; they are refused separately. */
export const IP_ENDPOINT_PATTERN = '^[0-9.]+(:[0-9]+)?$';
export const S3_BUCKET_PATTERN = '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$';
export const S3_REGION_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';
/** A pgBackRest backup label: full `20261125-140000F`, diff/incr `20261125-140000F_20261125-150000D`. */
export const BACKUP_LABEL_PATTERN = '^[0-9]{8}-[0-9]{6}F(_[0-9]{8}-[0-9]{6}[DI])?$';
export const LSN_PATTERN = '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$';
export const XID_PATTERN = '^[0-9]{1,10}$';
export const RESTORE_POINT_PATTERN = '^[A-Za-z0-9_.-]{1,63}$';

const noDotDot = { rule: "!self.contains('/../') && !self.endsWith('/..')", message: 'must not contain a .. segment' };

const RepoPath = (description: string) => Type.String({
  pattern: REPO_PATH_PATTERN, maxLength: 1024, description,
  [HINT]: 'must be an absolute path of letters, digits, and . _ / - (no spaces or quotes)',
  'x-kubernetes-validations': [noDotDot],
});

export const PosixRepository = Strict({
  path: RepoPath('Directory holding the repository (local platform: a directory on this machine; Kubernetes: where volumeClaim is mounted in the instance Pods)'),
  volumeClaim: Type.Optional(Name({
    description: 'Kubernetes: a PersistentVolumeClaim in the cluster\'s namespace, mounted at path in every instance Pod (ReadWriteMany when the cluster has more than one instance or another cluster restores from it). The operator does not create it',
  })),
});

export const S3Repository = Strict({
  endpoint: Type.String({
    pattern: S3_ENDPOINT_PATTERN, maxLength: 253, description: 'S3 endpoint host name, optionally :port',
    [HINT]: 'must be a DNS name such as s3.us-east-1.amazonaws.com or localhost:9000 (no scheme, no IP address)',
    'x-kubernetes-validations': [{ rule: "!self.matches('^[0-9.]+(:[0-9]+)?$')", message: 'must be a DNS name, not an IP address (pgBackRest 2.45 cannot verify a certificate for an IP)' }],
  }),
  bucket: Type.String({ pattern: S3_BUCKET_PATTERN, description: 'Bucket name', [HINT]: 'must be an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens' }),
  region: Type.String({ pattern: S3_REGION_PATTERN, default: 'us-east-1', description: 'S3 region', [HINT]: 'must be a region such as us-east-1' }),
  path: RepoPath('Prefix inside the bucket; each cluster gets its own stanza below it'),
  uriStyle: Type.Union([Type.Literal('host'), Type.Literal('path')], { default: 'host', description: 'host (bucket.endpoint) or path (endpoint/bucket) style URIs' }),
  credentialsSecret: Name({ description: 'Secret holding accessKeyId and secretAccessKey' }),
  caSecret: Type.Optional(Name({ description: 'Secret holding ca.crt to verify the endpoint (a private CA)' })),
  verifyTLS: Type.Boolean({ default: true, description: 'TLS verification cannot be turned off; use caSecret for a private CA', 'x-kubernetes-validations': [{ rule: 'self == true', message: 'TLS verification cannot be turned off; use caSecret for a private CA' }] }),
});

export const COMPRESSION_TYPES = ['gz', 'lz4', 'zst', 'bz2', 'none'] as const;
export const MAX_PARALLEL = 32;

export const Repository = Strict({
  posix: Type.Optional(PosixRepository),
  s3: Type.Optional(S3Repository),
  compression: Type.Optional(Type.Union(COMPRESSION_TYPES.map((t) => Type.Literal(t)), {
    description: 'How backup files and archived WAL are compressed (pgBackRest compress-type; default gz). lz4 is the fastest on small machines; a restore reads whatever each backup used',
  })),
  parallel: Type.Optional(Type.Integer({
    minimum: 1, maximum: MAX_PARALLEL,
    description: 'Processes that copy and compress files in a backup or restore (pgBackRest process-max; default 1). More is faster and takes that many cores from the host',
  })),
}, { rules: [{ rule: '[has(self.posix), has(self.s3)].filter(x, x).size() == 1', message: 'set exactly one of posix, s3' }] });

export const Retention = Strict({
  fullCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Full backups kept (with their diff/incr backups and WAL)' })),
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'Full backups younger than this many days are kept' })),
});

/** Cron as croner reads it: 5 fields, or 6 with seconds first; names (MON, JAN) and ? L W # allowed. */
export const CRON_PATTERN = '^[0-9A-Za-z*/,?#-]+( [0-9A-Za-z*/,?#-]+){4,5}$';

export const VerifySpec = Strict({
  schedule: Type.String({
    pattern: CRON_PATTERN, maxLength: 120,
    description: 'When to rehearse a restore of the latest backup: cron, 5 fields or 6 with seconds first (UTC)',
    [HINT]: 'must be a cron expression such as "0 3 * * *" (5 fields) or "0 0 3 * * *" (6 fields, seconds first)',
  }),
  keep: Type.Integer({ minimum: 1, maximum: 50, default: 5, description: 'Rehearsal results kept in status.restoreVerification.history (newest last)' }),
});

export const BackupSpec = Strict({
  repository: Repository,
  retention: Type.Optional(Retention),
  verify: Type.Optional(VerifySpec),
});

export const RecoveryTarget = Strict({
  time: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'Recover up to this time (RFC 3339)' })),
  lsn: Type.Optional(Type.String({ pattern: LSN_PATTERN, description: 'Recover up to this WAL position' })),
  xid: Type.Optional(Type.String({ pattern: XID_PATTERN, description: 'Recover up to this transaction id' })),
  name: Type.Optional(Type.String({ pattern: RESTORE_POINT_PATTERN, description: 'Recover up to this restore point (pg_create_restore_point)' })),
  inclusive: Type.Boolean({ default: true, description: 'Stop just after (true) or just before (false) the target' }),
}, { rules: [{ rule: '[has(self.time), has(self.lsn), has(self.xid), has(self.name)].filter(x, x).size() == 1', message: 'set exactly one of time, lsn, xid, name' }] });

export const RecoverySpec = Strict({
  repository: Repository,
  sourceCluster: Strict({ namespace: Name(), name: Name() }, { description: 'The cluster whose backups to restore; it need not exist any more' }),
  backup: Type.Optional(Type.String({ pattern: BACKUP_LABEL_PATTERN, description: 'Backup label to restore; the latest that reaches the target when absent' })),
  target: Type.Optional(RecoveryTarget),
});

export type RepositorySpec = Static<typeof Repository>;
export type BackupSpec = Static<typeof BackupSpec>;
export type VerifySpec = Static<typeof VerifySpec>;
export type RecoverySpec = Static<typeof RecoverySpec>;
export type RecoveryTarget = Static<typeof RecoveryTarget>;

/**
 * One stanza per cluster, named after its namespace and name, so clusters can share a bucket or directory. The
 * separator is `_`, which neither a namespace nor a cluster name may hold: `a-b`/`c` and `a`/`b-c` stay apart.
 */
export const stanzaName = (namespace: string, name: string): string => `${namespace}_${name}`;
