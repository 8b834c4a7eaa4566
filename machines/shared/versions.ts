// Bump a machine's version whenever its states or context shape change, so a snapshot persisted by an older
// operator is migrated or reported, never restored into a machine it does not fit.
export const MACHINE_VERSIONS = {
  // 2: context.uid (cluster) and context.owner (instance) key queued jobs on the object's uid and generation.
  // 3: sharded clusters (states sharded/deletingShards, context.shards).
  // 4: rolling updates (states reconfiguring/rollingUpdate, context.rollout, member facts, the watchImage child; ADR 0026)
  //    and hibernation/fencing (states hibernating/hibernated/waking, context.hibernationAnnotation, fencingAnnotation,
  //    fencedInstances, fencingError; ADR 0028).
  cluster: 4,
  instance: 2,
  failover: 1,
  switchover: 1,
  agent: 1,
  backup: 1,
  pooler: 1,
  user: 1,
  database: 1,
  shardRange: 1,
  restoreVerify: 1,
  scheduledBackup: 1,
  imageCatalog: 1,
} as const;

export type MachineId = keyof typeof MACHINE_VERSIONS;
