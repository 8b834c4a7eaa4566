// The Helm chart's values schema (chart/values.schema.json is generated from this by `npm run generate`).
import { Type } from '@sinclair/typebox';

const Obj = Type.Object;
export const ChartValues = Obj({
  image: Obj({ repository: Type.String({ minLength: 1 }), tag: Type.String(), pullPolicy: Type.Union(['Always', 'IfNotPresent', 'Never'].map((v) => Type.Literal(v))) }),
  replicas: Type.Integer({ minimum: 1, maximum: 5 }),
  leaderElection: Obj({ leaseDurationSeconds: Type.Integer({ minimum: 5, maximum: 120 }) }),
  // One namespace (a Role there) or '' for every namespace (a ClusterRole): the operator watches one or all.
  watchNamespace: Type.String({ maxLength: 63, pattern: '^(|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$', description: 'one namespace name, or empty for every namespace' }),
  redis: Obj({
    enabled: Type.Boolean(), url: Type.String({ pattern: '^(|rediss?://.+)$' }),
    // The external Redis URL (with its password) from an existing Secret instead of `url`.
    urlSecret: Obj({ name: Type.String({ maxLength: 253, pattern: '^(|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$' }), key: Type.String({ minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' }) }),
    image: Type.String({ minLength: 1 }), storage: Type.String({ pattern: '^[0-9]+(Mi|Gi|Ti)$' }),
  }),
  metrics: Obj({
    enabled: Type.Boolean(),
    port: Type.Integer({ minimum: 1024, maximum: 65535 }),
    serviceMonitor: Obj({ enabled: Type.Boolean(), interval: Type.String({ pattern: '^[0-9]+(s|m)$' }) }),
    prometheusRule: Obj({ enabled: Type.Boolean() }),
    podMonitor: Obj({ enabled: Type.Boolean(), scraperNamespace: Type.String({ maxLength: 63, pattern: '^(|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$' }) }),
    grafanaDashboards: Obj({
      enabled: Type.Boolean(),
      label: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' }),
      namespace: Type.String({ maxLength: 63, pattern: '^(|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$' }),
    }),
  }),
  // PgBouncer pods of Poolers run `pgop pooler` from this image ('' = the operator's own image, which carries PgBouncer).
  pooler: Obj({ image: Type.String({ maxLength: 512, pattern: '^(|[^\\s]+)$' }) }),
  // Sharded clusters' router pods run `pgop router --kubernetes` from this image ('' = the operator's own image).
  router: Obj({ image: Type.String({ maxLength: 512, pattern: '^(|[^\\s]+)$' }) }),
  backupAlerts: Obj({
    maxBackupAgeHours: Type.Integer({ minimum: 1, maximum: 8760 }),
    maxBackupDurationMinutes: Type.Integer({ minimum: 1, maximum: 10080 }),
    sizeJumpFactor: Type.Number({ minimum: 1, maximum: 1000 }),
    maxPendingSegments: Type.Integer({ minimum: 1, maximum: 100000 }),
    maxRehearsalAgeHours: Type.Integer({ minimum: 1, maximum: 8760 }),
  }),
  resources: Obj({}, { additionalProperties: true }),
  logLevel: Type.Union(['trace', 'debug', 'info', 'warn', 'error'].map((v) => Type.Literal(v))),
}, { $schema: 'http://json-schema.org/draft-07/schema#', title: 'pgop chart values', additionalProperties: false });
