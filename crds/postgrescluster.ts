// PostgresCluster: the single source for the TypeScript type, the OpenAPI schema (with CEL rules and defaults)
// and the printer columns. chart/crds is generated from here by `npm run generate`.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, StringMap, Quantity, Name, Conditions, Opaque, CEL, HINT } from './schema-kit.js';
import type { ResourceDefinition, Resource } from './definition.js';
import { OPERATOR_OWNED_PARAMETERS, PARAMETER_RULES, parameterProblems } from './pg-parameters.js';
import { HBA_LINE_RULES, hbaProblems } from './pg-hba.js';
import { reservedRoleRule } from './reserved-roles.js';
import { BackupSpec, RecoverySpec } from './backup-repository.js';
import { ShardingSpec, shardingProblems, SHARDED_NAME_MAX } from './sharding.js';
import { scheduleProblem } from './cron-schedule.js';

export { OPERATOR_OWNED_PARAMETERS };

export const SynchronousSpec = Strict({
  method: Type.Union([Type.Literal('any'), Type.Literal('first')], {
    description: 'any = quorum commit (ANY n), first = priority commit (FIRST n).',
  }),
  number: Type.Integer({ minimum: 1, maximum: 15, description: 'How many standbys must confirm each commit.' }),
  dataDurability: Type.Union([Type.Literal('required'), Type.Literal('preferred')], {
    default: 'required',
    description: 'required: commits wait for the standbys even when too few are up (RPO 0). preferred: fall back to asynchronous when standbys are missing.',
  }),
});

export const PostgresqlSpec = Strict({
  parameters: Type.Optional(StringMap({
    description: 'postgresql.conf parameters, lower-case names (myext.setting for extensions). Keys the operator manages (port, replication, archiving, TLS files) and any that run commands or load code are refused, whatever their case; values may not hold control characters.',
    maxProperties: 200,
    rules: PARAMETER_RULES,
  })),
  synchronous: Type.Optional(SynchronousSpec),
  pgHba: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256, [CEL]: HBA_LINE_RULES }), {
    maxItems: 64,
    description: 'Extra pg_hba.conf rules, added after the operator rules: host|hostssl|hostnossl DATABASE USER ADDRESS scram-sha-256|cert|reject (hostnossl only with reject).',
    // Kept beside the per-line grammar for its plain message on the most common mistake.
    [CEL]: [{ rule: "self.all(l, !l.contains('trust'))", message: 'trust authentication is refused; use scram-sha-256' }],
  })),
});

const SQL_NAME_HINT = 'must be a plain SQL name: a letter or _, then letters, digits or _ (e.g. app)';

export const InitdbSpec = Strict({
  database: Type.String({ default: 'app', minLength: 1, maxLength: 63, pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', [HINT]: SQL_NAME_HINT }),
  owner: Type.String({ default: 'app', minLength: 1, maxLength: 63, pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', [HINT]: SQL_NAME_HINT, [CEL]: [reservedRoleRule()] }),
  dataChecksums: Type.Boolean({ default: true }),
  // Both reach initdb's argv: plain names only (argv is not a shell, but initdb should not see option-like text).
  encoding: Type.String({ default: 'UTF8', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_]+$', [HINT]: 'must be an encoding name such as UTF8 or LATIN1' }),
  locale: Type.String({ default: 'C', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$', [HINT]: 'must be a locale name such as C, C.UTF-8 or en_US.UTF-8' }),
});

export const StorageSpec = Strict({
  size: Quantity({
    default: '1Gi', maxLength: 64, description: 'Size of each instance volume. Raising it expands the volumes online where the StorageClass allows it; it cannot shrink.',
    [CEL]: [{ rule: 'quantity(self).compareTo(quantity(oldSelf)) >= 0', message: 'cannot shrink: volumes only grow (create a new cluster from a backup to go smaller)', reason: 'FieldValueForbidden' }],
  }),
  storageClass: Type.Optional(Type.String()),
  retainOnDelete: Type.Boolean({ default: false, description: 'Keep instance volumes when the cluster is deleted.' }),
});

export const HaSpec = Strict({
  leaseDurationSeconds: Type.Integer({ minimum: 2, maximum: 120, default: 5, description: 'Primary lease TTL.' }),
  maxLagOnFailoverBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Replicas further behind are never promoted.' })),
});

export const CertificatesSpec = Strict({
  serverTLSSecret: Type.Optional(Name({
    description: 'A kubernetes.io/tls Secret (tls.crt, tls.key; ca.crt too when cert-manager issued it) served instead of the operator-issued certificate. Its SANs must name the Services (<cluster>-rw/-ro/-r[.<ns>[.svc]]).',
  })),
  serverCASecret: Type.Optional(Name({
    description: 'A Secret whose ca.crt verifies serverTLSSecret; default: ca.crt inside serverTLSSecret.',
  })),
}, { description: 'Bring your own server certificate. Without it the operator runs a CA per cluster and rotates the certificate before expiry.' });

export const RouterSpec = Strict({
  enabled: Type.Boolean({
    default: false,
    description: 'Run pgop\'s router (a pooling proxy) in front of this unsharded cluster\'s primary: locally one `pgop router` process (`pgop local connect CLUSTER --router`), on Kubernetes the Deployment and Service <cluster>-router. It follows failovers and switchovers.',
  }),
  readOnly: Type.Optional(Type.Boolean({
    default: false,
    description: 'Also run a read-only router in front of the ready streaming replicas (like the -ro Service, with pooling): locally a second `pgop router` process (`pgop local connect CLUSTER --router --read-only`). Transactions rotate over the replicas and follow them through failovers, switchovers and fencing; writes get PostgreSQL\'s own error 25006 (read_only_sql_transaction). On Kubernetes the Deployment and Service <cluster>-router-ro. It never falls back to the primary: with no ready replica, logins fail at once and open sessions\' transactions after waiting up to 10 s, both with SQLSTATE 57P03 (use the read-write router for that). Needs enabled: true and at least 2 instances.',
  })),
  replicas: Type.Optional(Type.Integer({
    minimum: 2, maximum: 32,
    description: 'Kubernetes: how many router pods the Deployment runs (default and minimum 2, so one pod\'s loss or rollout never empties the Service). The local platform runs one process.',
  })),
  poolSize: Type.Optional(Type.Integer({
    minimum: 1, maximum: 10000,
    description: 'Backend connections each router process keeps per role and database (per shard on a sharded cluster); transactions beyond it wait for one. Default 20 on Kubernetes, 10 locally. Changing it restarts the router (Kubernetes: a rolling restart of its pods, one new pod ready before an old one goes). Keep router pods × poolSize under the backend\'s max_connections.',
  })),
}, {
  description: 'The router: opt-in in front of an unsharded cluster (enabled); a sharded cluster always has one, and replicas and poolSize apply to it too.',
  rules: [{
    rule: '!has(self.readOnly) || !self.readOnly || self.enabled',
    message: 'the read-only router comes with the read-write one: set enabled: true too',
    fieldPath: '.readOnly',
  }],
});

export const PostgresClusterSpec = Strict({
  instances: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'Number of PostgreSQL instances: one primary, the rest replicas.' }),
  postgresVersion: Type.Optional(Type.Integer({ minimum: 15, maximum: 18, description: 'PostgreSQL major version.' })),
  imageName: Type.Optional(Type.String({
    minLength: 1, maxLength: 512,
    // Reaches an argv (the postgres path on the local platform) and a Pod spec: no control characters.
    pattern: '^[^\\x00-\\x1f\\x7f]+$',
    'x-pgop-hint': 'must be an image reference or a bin directory without control characters (newline, tab, NUL...)',
    description: 'Container image with PostgreSQL, pgBackRest and pgop. On the local platform an absolute path names a PostgreSQL bin directory; any other value runs the installed binaries of spec.postgresVersion. Changing it rolls the instances one at a time, the primary last.',
  })),
  imageCatalogRef: Type.Optional(Strict({
    kind: Type.Union([Type.Literal('ImageCatalog'), Type.Literal('ClusterImageCatalog')], { description: 'ImageCatalog (this namespace) or ClusterImageCatalog.' }),
    name: Name(),
  }, { description: 'Take the image from a catalog entry for spec.postgresVersion; editing the catalog rolls every cluster using it.' })),
  storage: Type.Optional(StorageSpec),
  postgresql: Type.Optional(PostgresqlSpec),
  // With recovery set, initdb is ignored (local admission fills initdb's defaults in, so both may be present).
  bootstrap: Type.Optional(Strict({ initdb: Type.Optional(InitdbSpec), recovery: Type.Optional(RecoverySpec) }, { default: { initdb: {} } })),
  backup: Type.Optional(BackupSpec),
  primaryUpdateStrategy: Type.Union([Type.Literal('unsupervised'), Type.Literal('supervised')], { default: 'unsupervised' }),
  ha: Type.Optional(HaSpec),
  certificates: Type.Optional(CertificatesSpec),
  sharding: Type.Optional(ShardingSpec),
  hibernation: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('off')], {
    description: 'on: every instance stops cleanly (primary first, after a checkpoint), data kept, phase Hibernated; off wakes the same primary. The postgres.keiailab.io/hibernation annotation, when set, wins.',
  })),
  router: Type.Optional(RouterSpec),
}, {
  rules: [
    {
      rule: '!has(self.router) || !self.router.enabled || !has(self.sharding)',
      message: 'a sharded cluster always has its router; spec.router is for unsharded clusters',
      fieldPath: '.router',
    },
    {
      rule: '!has(self.router) || !has(self.router.readOnly) || !self.router.readOnly || self.instances >= 2',
      message: 'a read-only router serves the replicas: spec.instances must be at least 2 (or turn spec.router.readOnly off)',
      fieldPath: '.router.readOnly',
    },
    {
      rule: 'has(self.sharding) == has(oldSelf.sharding)',
      message: 'cannot be added to or removed from an existing cluster: a sharded cluster is created sharded',
      fieldPath: '.sharding',
    },
    {
      rule: '!has(self.imageName) || !has(self.imageCatalogRef)',
      message: 'imageName and imageCatalogRef exclude each other: name the image or the catalog, not both',
      fieldPath: '.imageCatalogRef',
    },
    {
      rule: '!has(self.imageCatalogRef) || has(self.postgresVersion)',
      message: 'needs spec.postgresVersion: the catalog entry is chosen by PostgreSQL major',
      fieldPath: '.imageCatalogRef',
    },
    {
      rule: '!has(self.certificates) || !has(self.certificates.serverCASecret) || has(self.certificates.serverTLSSecret)',
      message: 'serverCASecret verifies serverTLSSecret: set serverTLSSecret too, or remove serverCASecret',
      fieldPath: '.certificates.serverCASecret',
    },
    {
      rule: '!has(self.postgresql) || !has(self.postgresql.synchronous) || self.postgresql.synchronous.number < self.instances',
      message: 'must be less than spec.instances (the primary does not count); lower it or add instances',
      fieldPath: '.postgresql.synchronous.number',
    },
    {
      rule: 'has(self.bootstrap) == has(oldSelf.bootstrap) && (!has(self.bootstrap) || self.bootstrap == oldSelf.bootstrap)',
      message: 'is immutable: how a cluster was bootstrapped cannot change; create a new cluster instead',
      fieldPath: '.bootstrap',
    },
    {
      rule: '!has(oldSelf.postgresVersion) || !has(self.postgresVersion) || self.postgresVersion >= oldSelf.postgresVersion',
      message: 'cannot go down: a major downgrade needs a restore into a new cluster',
      fieldPath: '.postgresVersion',
    },
  ],
});

export const InstanceStatus = Type.Object({
  name: Type.String(),
  role: Type.Union([Type.Literal('primary'), Type.Literal('replica'), Type.Literal('unknown')]),
  ready: Type.Boolean(),
  phase: Type.String(),
  timeline: Type.Optional(Type.Integer()),
  currentLsn: Type.Optional(Type.String()),
  receiveLsn: Type.Optional(Type.String()),
  replayLsn: Type.Optional(Type.String()),
  lagBytes: Type.Optional(Type.Integer()),
  progress: Type.Optional(Type.String({ description: 'Progress of a long-running step (a clone), e.g. "pg_basebackup 45%".' })),
  pendingRestart: Type.Optional(Type.Boolean({ description: 'A changed setting waits for a restart (pg_settings.pending_restart); the rolling update restarts it.' })),
  image: Type.Optional(Type.String({ description: 'The image (local: PostgreSQL bin directory) the running postmaster was started from.' })),
});

export const FailoverRecord = Type.Object({
  kind: Type.Union([Type.Literal('failover'), Type.Literal('switchover')]),
  outcome: Type.String(),
  from: Type.String(),
  to: Type.Optional(Type.String()),
  timeline: Type.Optional(Type.Integer()),
  reason: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Integer()),
  steps: Type.Array(Type.Object({
    step: Type.String(), at: Type.String(), durationMs: Type.Optional(Type.Integer()),
    detail: Type.Optional(Type.String({ description: 'What the step did, e.g. how the old primary was fenced.' })),
  })),
});

export const RestoreVerificationRecord = Type.Object({
  verified: Type.Boolean(),
  reason: Type.String({ description: 'RestoreVerified, or why the rehearsal failed (RestoreFailed, ChecksumFailure, IndexCorruption, FingerprintMismatch, RehearsalFailed)' }),
  message: Type.String(),
  backup: Type.Optional(Type.String({ description: 'Backup label restored' })),
  startedAt: Type.String(),
  finishedAt: Type.Optional(Type.String()),
  durationSeconds: Type.Optional(Type.Integer()),
  tablesCompared: Type.Optional(Type.Integer()),
});

export const RestoreVerificationStatus = Type.Object({
  phase: Type.String({ description: 'Waiting or Verifying' }),
  nextRunAt: Type.Optional(Type.String()),
  progress: Type.Optional(Type.String()),
  last: Type.Optional(RestoreVerificationRecord),
  history: Type.Optional(Type.Array(RestoreVerificationRecord, { maxItems: 50, description: 'The last spec.backup.verify.keep rehearsals, newest last' })),
  machine: Type.Optional(Opaque({ description: 'Persisted snapshot of the restore rehearsal machine' })),
});

export const PostgresClusterStatus = Type.Object({
  phase: Type.Optional(Type.String()),
  phaseReason: Type.Optional(Type.String()),
  conditions: Type.Optional(Conditions),
  currentPrimary: Type.Optional(Type.String()),
  instances: Type.Optional(Type.Array(InstanceStatus)),
  readyInstances: Type.Optional(Type.Integer()),
  timeline: Type.Optional(Type.Integer()),
  failovers: Type.Optional(Type.Array(FailoverRecord, { maxItems: 10, description: 'The last failovers and switchovers with their step timings, newest last.' })),
  observedGeneration: Type.Optional(Type.Integer()),
  pendingRestart: Type.Optional(Type.Array(Type.String(), { description: 'Instances whose changed settings wait for a restart.' })),
  image: Type.Optional(Type.String({ description: 'The image the cluster rolls to (local: a PostgreSQL bin directory) and where it came from.' })),
  shards: Type.Optional(Type.Array(Type.Object({ name: Type.String(), cluster: Type.String(), phase: Type.String(), readyInstances: Type.Optional(Type.Integer()) }), { description: 'A sharded cluster: each shard\'s own PostgresCluster and its phase.' })),
  shardsReady: Type.Optional(Type.String({ description: 'A sharded cluster: ready shards / shards, e.g. 2/2.' })),
  endpoints: Type.Optional(Type.Object({ readWrite: Type.Optional(Type.String()), readOnly: Type.Optional(Type.String()) })),
  router: Type.Optional(Type.Object({
    endpoint: Type.String({ description: 'The router Service, host:port' }),
    caSecret: Type.String({ description: 'The Secret whose ca.crt verifies the router certificate (the first shard\'s CA; an unsharded cluster\'s own CA)' }),
    replicas: Type.Integer(),
    readyReplicas: Type.Integer(),
    generation: Type.Optional(Type.Integer({ description: 'Routing table generation the router is configured with (the highest ShardRange version)' })),
    readOnly: Type.Optional(Type.Object({
      endpoint: Type.String({ description: 'The read-only router Service, host:port' }),
      replicas: Type.Integer(),
      readyReplicas: Type.Integer(),
      backends: Type.Array(Type.String(), { description: 'The streaming replicas it spreads its connections over now' }),
    }, { description: 'spec.router.readOnly: the read-only router Deployment <cluster>-router-ro (ADR 0043)' })),
  }, { description: 'A sharded cluster, or an unsharded one with spec.router.enabled, on Kubernetes: its router Deployment; the RouterReady condition says whether it serves' })),
  storage: Type.Optional(Type.Object({
    size: Type.String({ description: 'The size the volumes are asked to have (spec.storage.size)' }),
    volumes: Type.Integer(),
    resized: Type.Integer({ description: 'Volumes at that size already' }),
    message: Type.Optional(Type.String()),
  }, { description: 'Progress of a volume expansion (Kubernetes); the StorageResize condition says whether it can proceed' })),
  machine: Type.Optional(Opaque({ description: 'Persisted statechart snapshot envelope; read by the operator on restart.' })),
  restoreVerification: Type.Optional(RestoreVerificationStatus),
});

/** spec.backup.verify.schedule must be a cron expression croner reads, firing at most every few seconds. */
function verifyScheduleProblems(spec: PostgresClusterSpec): { field: string; message: string }[] {
  const schedule = spec.backup?.verify?.schedule;
  if (schedule === undefined) return [];
  const problem = scheduleProblem(schedule);
  return problem ? [{ field: 'spec.backup.verify.schedule', message: `${JSON.stringify(schedule)} ${problem}; use e.g. "0 3 * * *" (daily at 03:00 UTC)` }] : [];
}

export type PostgresClusterSpec = Static<typeof PostgresClusterSpec>;
export type PostgresClusterStatus = Static<typeof PostgresClusterStatus>;
export type InstanceStatus = Static<typeof InstanceStatus>;
export type SynchronousSpec = Static<typeof SynchronousSpec>;
export type FailoverRecord = Static<typeof FailoverRecord>;
export type PostgresCluster = Resource<PostgresClusterSpec, PostgresClusterStatus>;

export const postgresClusterDefinition: ResourceDefinition = {
  kind: 'PostgresCluster',
  plural: 'postgresclusters',
  singular: 'postgrescluster',
  shortNames: ['pgc'],
  scope: 'Namespaced',
  categories: ['pgop', 'all'],
  spec: PostgresClusterSpec,
  status: PostgresClusterStatus,
  objectRules: [{
    rule: 'self.metadata.name.size() <= 50',
    message: 'metadata.name must be at most 50 characters (instance names append a serial)',
  }, {
    rule: `!has(self.spec.sharding) || self.metadata.name.size() <= ${SHARDED_NAME_MAX}`,
    message: `metadata.name of a sharded cluster must be at most ${SHARDED_NAME_MAX} characters (each shard is a cluster named <name>-<lo>-<hi>)`,
  }, {
    // The stanza is named after the cluster: recovering under the source's own name would archive into its stanza.
    // (The apiserver shows CEL only metadata.name at the root, so the namespace cannot take part.)
    rule: '!has(self.spec.bootstrap) || !has(self.spec.bootstrap.recovery) || self.spec.bootstrap.recovery.sourceCluster.name != self.metadata.name',
    message: 'spec.bootstrap.recovery.sourceCluster.name must differ from the new cluster\'s name: a restore is a new cluster with its own stanza',
    fieldPath: '.spec.bootstrap.recovery.sourceCluster',
  }],
  // CEL messages cannot name keys within the cost budget, and CEL checks pg_hba lines by shape only: these name
  // the offending key and parse each line strictly. The agent's renderer runs the same functions again.
  localChecks: (spec) => [
    ...parameterProblems((spec as PostgresClusterSpec).postgresql?.parameters ?? {}).map((message) => ({ field: 'spec.postgresql.parameters', message })),
    ...hbaProblems((spec as PostgresClusterSpec).postgresql?.pgHba ?? []).map(({ index, problem }) => ({ field: `spec.postgresql.pgHba[${index}]`, message: problem })),
    ...shardingProblems((spec as PostgresClusterSpec).sharding),
    // The CRD pattern checks the shape only; croner decides whether it is a schedule (the operator reads it the same way).
    ...verifyScheduleProblems(spec as PostgresClusterSpec),
  ],
  printerColumns: [
    { name: 'Instances', type: 'integer', jsonPath: '.spec.instances' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyInstances' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Primary', type: 'string', jsonPath: '.status.currentPrimary' },
    { name: 'Shards', type: 'string', jsonPath: '.status.shardsReady' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};

export { Name };
