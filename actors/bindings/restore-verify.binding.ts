// PostgresCluster ⇄ restore rehearsal machine, attached: one actor per cluster with spec.backup.verify, its record
// and snapshot in status.restoreVerification, its result as the LastRestoreVerified condition.
import type { Resource } from '../../crds/definition.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { restoreVerifyMachine, type RestoreVerifyMachine } from '../../machines/restore-verify/restore-verify.machine.js';
import type { VerifyEvent } from '../../machines/restore-verify/restore-verify.types.js';
import { selectRestoreVerification, lastRestoreVerified, LAST_RESTORE_VERIFIED } from '../../machines/restore-verify/restore-verify.selectors.js';
import type { KindBinding, Notice } from '../binding.js';

const DEFAULT_KEEP = 5;
const verifyOf = (r: Resource) => (r.spec as PostgresClusterSpec).backup?.verify;

export const restoreVerifyBinding: KindBinding<RestoreVerifyMachine> = {
  kind: 'PostgresCluster',
  machineId: 'restoreVerify',
  machine: restoreVerifyMachine,
  input: (r: Resource) => ({
    namespace: r.metadata.namespace ?? 'default', name: r.metadata.name, uid: r.metadata.uid ?? r.metadata.name,
    schedule: verifyOf(r)?.schedule ?? '', keep: verifyOf(r)?.keep ?? DEFAULT_KEEP,
  }),
  eventsFor(r, snapshot) {
    const events: VerifyEvent[] = [];
    const v = verifyOf(r);
    if (snapshot.status !== 'active' || !v) return events;
    const keep = v.keep ?? DEFAULT_KEEP;
    if (v.schedule !== snapshot.context.schedule || keep !== snapshot.context.keep) events.push({ type: 'spec.changed', schedule: v.schedule, keep });
    return events;
  },
  status: (snapshot) => ({ ...selectRestoreVerification(snapshot) }),
  generationOf: () => 0,
  notices(before, after) {
    const [b, a] = [before?.context.history.at(-1), after.context.history.at(-1)];
    if (!a || !before || JSON.stringify(a) === JSON.stringify(b)) return [];
    const n: Notice = a.verified
      ? { type: 'Normal', reason: 'RestoreVerified', message: `restore rehearsal of backup ${a.backup ?? '?'} verified: ${a.message}` }
      : { type: 'Warning', reason: `RestoreRehearsal${a.reason}`, message: `restore rehearsal failed${a.backup ? ` (backup ${a.backup})` : ''}: ${a.message}` };
    return [n];
  },
  attached: {
    field: 'restoreVerification',
    conditionTypes: [LAST_RESTORE_VERIFIED],
    runsFor: (r) => !!verifyOf(r),
    conditions: (snapshot) => [lastRestoreVerified(snapshot.context.history.at(-1))],
  },
};
