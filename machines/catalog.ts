// Every statechart pgop runs, by id: the export command, the generated docs and the inspector read this list.
import type { AnyStateMachine } from 'xstate';
import { clusterMachine } from './cluster/cluster.machine.js';
import { instanceMachine } from './instance/instance.machine.js';
import { failoverMachine } from './failover/failover.machine.js';
import { switchoverMachine } from './switchover/switchover.machine.js';
import { agentMachine } from './agent/agent.machine.js';
import { backupMachine } from './backup/backup.machine.js';
import { poolerMachine } from './pooler/pooler.machine.js';
import { userMachine } from './user/user.machine.js';
import { databaseMachine } from './database/database.machine.js';
import { shardRangeMachine } from './shardrange/shardrange.machine.js';
import { restoreVerifyMachine } from './restore-verify/restore-verify.machine.js';
import { imageCatalogMachine } from './imagecatalog/imagecatalog.machine.js';
import { scheduledBackupMachine } from './scheduled-backup/scheduled-backup.machine.js';

export interface CatalogEntry { id: string; machine: AnyStateMachine; summary: string; runsIn: string }

export const machineCatalog: CatalogEntry[] = [
  { id: 'cluster', machine: clusterMachine, runsIn: 'operator, one actor per PostgresCluster', summary: 'PostgresCluster lifecycle: provisioning, bootstrapping the primary, cloning replicas, Ready ⇄ Degraded, scaling, failover and switchover plans, deletion.' },
  { id: 'instance', machine: instanceMachine, runsIn: 'operator, a child of the cluster per instance', summary: "The operator's view of one instance: slot, pod, bootstrap, running ⇄ lost → rejoining, removal." },
  { id: 'failover', machine: failoverMachine, runsIn: 'operator, a child of the cluster during an unplanned failover', summary: 'The promotion plan: confirming → fencing → choosing → promoting → repointing → rerouting → rejoining → done.' },
  { id: 'switchover', machine: switchoverMachine, runsIn: 'operator, a child of the cluster during a planned switchover', summary: 'Planned switchover with zero data loss, rolled back when the candidate cannot finish.' },
  { id: 'backup', machine: backupMachine, runsIn: 'operator, one actor per BackupJob', summary: 'One pgBackRest backup as a queued step: pending → running (progress) → saved (Succeeded while the table fingerprint is recorded) → succeeded | failed.' },
  { id: 'scheduledBackup', machine: scheduledBackupMachine, runsIn: 'operator, one actor per ScheduledBackup', summary: 'Cron-scheduled BackupJobs: wait for the next occurrence (one catch-up after an outage), forbid or replace a running job, create it with an owner reference, prune history, suspend.' },
  { id: 'user', machine: userMachine, runsIn: 'operator, one actor per PostgresUser', summary: "One role on the cluster's primary: attributes, memberships and password applied from a plan, drift corrected, dropped on delete when reclaimPolicy is delete." },
  { id: 'database', machine: databaseMachine, runsIn: 'operator, one actor per PostgresDatabase', summary: "One database on the cluster's primary: owner, extensions, schemas, grants and default privileges applied from a plan, drift corrected, dropped on delete when reclaimPolicy is delete." },
  { id: 'agent', machine: agentMachine, runsIn: 'instance agent (pgop instance)', summary: 'Bootstrap, lease-guarded start, supervision with backoff, self-fencing, promotion, demotion, rejoin.' },
  { id: 'shardRange', machine: shardRangeMachine, runsIn: 'operator, one actor per ShardRange', summary: 'Key ranges → shards for one table group: ranges checked (no gap, no overlap), shard clusters checked to exist, routing published with a version bumped on every change.' },
  { id: 'restoreVerify', machine: restoreVerifyMachine, runsIn: 'operator, attached to each PostgresCluster with spec.backup.verify', summary: 'Restore rehearsals: waiting for the schedule → verifying (restore the latest backup into a throwaway instance, pg_checksums, amcheck, table fingerprint) → waiting, the results kept.' },
  { id: 'imageCatalog', machine: imageCatalogMachine, runsIn: 'operator, one actor per ImageCatalog and per ClusterImageCatalog', summary: 'Checks a catalog\'s entries (one image per supported major, image reference syntax) and publishes major → image in status, or Invalid naming the field and the fix.' },
  { id: 'pooler', machine: poolerMachine, runsIn: 'operator, one actor per Pooler', summary: 'PgBouncer in front of a cluster: apply (config, processes, reload, PAUSE/RESUME) on every spec or route change, retry, removal.' },
];
