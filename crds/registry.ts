import type { ResourceDefinition } from './definition.js';
import { postgresClusterDefinition } from './postgrescluster.js';
import { backupJobDefinition } from './backupjob.js';
import { scheduledBackupDefinition } from './scheduledbackup.js';
import { postgresDatabaseDefinition } from './postgresdatabase.js';
import { postgresUserDefinition } from './postgresuser.js';
import { poolerDefinition } from './pooler.js';
import { imageCatalogDefinition, clusterImageCatalogDefinition } from './imagecatalog.js';
import { shardRangeDefinition } from './shardrange.js';
import { shardSplitJobDefinition } from './shardsplitjob.js';

/** Every kind pgop serves; generation, admission and the CLI's kind names read this list. */
export const definitions: ResourceDefinition[] = [
  postgresClusterDefinition, backupJobDefinition, scheduledBackupDefinition, postgresDatabaseDefinition, postgresUserDefinition,
  poolerDefinition, imageCatalogDefinition, clusterImageCatalogDefinition, shardRangeDefinition, shardSplitJobDefinition,
];

/** Resolve what a user typed (PostgresCluster, postgresclusters, pgc, postgrescluster.postgres.keiailab.io). */
export function resolveKind(input: string): ResourceDefinition | undefined {
  const want = input.toLowerCase().split('.')[0];
  return definitions.find((d) => [d.kind.toLowerCase(), d.plural, d.singular, ...d.shortNames].includes(want ?? ''));
}

export function definitionFor(kind: string): ResourceDefinition | undefined {
  return definitions.find((d) => d.kind === kind);
}
