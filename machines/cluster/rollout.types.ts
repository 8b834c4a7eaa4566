// Rolling restarts and image updates (ADR 0026): what the cluster machine keeps about them, and the effects' inputs.
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ClusterRef } from '../instance/instance.types.js';

export interface RolloutContext {
  /**
   * The image every instance should run, as the platform resolved it (spec.imageName or the catalog entry for the
   * cluster's major; locally a PostgreSQL bin directory). null: the platform resolves none, so nothing rolls.
   */
  desiredImage: string | null;
  /** Where desiredImage came from (imageName, ImageCatalog/x, the installed default), for status. */
  imageSource: string | null;
  /** Why the image cannot be resolved right now (a catalog without the cluster's major); the last one stays. */
  imageError: string | null;
  /** The instance being restarted right now. */
  rollingInstance: string | null;
  /** The spec generation whose configuration every instance has been given (reload in place). */
  appliedGeneration: number;
  /** Instances restarted by the rollout in progress, in order (and the last finished one's, for status). */
  rolled: string[];
}

/** A new cluster's instances are created with its first spec: that configuration is applied from the start. */
export const initialRollout = (generation: number): RolloutContext => ({
  desiredImage: null, imageSource: null, imageError: null, appliedGeneration: generation, rollingInstance: null, rolled: [],
});

/** What each member last reported that the rollout decides on (kept on the member, from its observations). */
export interface MemberRolloutFacts {
  /** The agent answered and the instance is ready (a replica: streaming). */
  ready?: boolean;
  pendingRestart?: boolean;
  image?: string | null;
  /** The spec generation whose configuration the instance reports loaded (null/absent: not tracked). */
  configGeneration?: number | null;
}

export type RolloutEvent =
  | { type: 'image.resolved'; image: string; source: string }
  | { type: 'image.unresolved'; reason: string };

export interface ConfigurationInput { cluster: ClusterRef; spec: PostgresClusterSpec; generation: number; primary: string | null }
export interface RestartInput { cluster: ClusterRef; spec: PostgresClusterSpec; instance: string; image: string; primary: string | null }
export interface ImageWatchInput { cluster: ClusterRef; sharded: boolean }
