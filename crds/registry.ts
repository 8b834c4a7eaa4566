import type { ResourceDefinition } from './definition.js';
import { postgresClusterDefinition } from './postgrescluster.js';

/** Every kind pgop serves; generation, admission and the CLI's kind names read this list. */
export const definitions: ResourceDefinition[] = [postgresClusterDefinition];

/** Resolve what a user typed (PostgresCluster, postgresclusters, pgc, postgrescluster.postgres.keiailab.io). */
export function resolveKind(input: string): ResourceDefinition | undefined {
  const want = input.toLowerCase().split('.')[0];
  return definitions.find((d) => [d.kind.toLowerCase(), d.plural, d.singular, ...d.shortNames].includes(want ?? ''));
}

export function definitionFor(kind: string): ResourceDefinition | undefined {
  return definitions.find((d) => d.kind === kind);
}
