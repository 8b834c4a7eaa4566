// Snapshot → ShardRange status. Pure.
import type { SnapshotFrom } from 'xstate';
import type { ShardRangeMachine } from './shardrange.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';

export type ShardRangeSnapshot = SnapshotFrom<ShardRangeMachine>;

export interface ShardRangeStatusIntent {
  phase: string;
  message: string;
  version?: number;
  conditions: ConditionIntent[];
  observedGeneration: number;
}

export function selectShardRangePhase(s: ShardRangeSnapshot): string {
  if (s.matches('ready')) return 'Ready';
  if (s.matches('invalid')) return 'Invalid';
  // A recheck shows the problem it is rechecking, so the status does not flap (and re-trigger) on every round.
  if (s.matches('waitingForShards') || (s.matches('checkingShards') && s.context.problem)) return 'WaitingForShards';
  if (s.matches('deleted')) return 'Deleting';
  return 'Checking';
}

export function selectShardRangeStatus(s: ShardRangeSnapshot): ShardRangeStatusIntent {
  const ctx = s.context;
  const phase = selectShardRangePhase(s);
  const ready = phase === 'Ready';
  const message = ready
    ? `${ctx.spec.ranges.length} ranges over shards ${ctx.spec.ranges.map((r) => r.shard).join(', ')}, version ${ctx.version}`
    : ctx.problem?.message ?? 'checking the ranges and shards';
  return {
    phase, message, observedGeneration: ctx.generation,
    ...(ctx.version > 0 ? { version: ctx.version } : {}),
    conditions: [condition('Ready', ready, ready ? 'RoutingPublished' : ctx.problem?.reason ?? 'Checking', message)],
  };
}
