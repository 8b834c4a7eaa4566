// Why an instance whose agent answers is still not ready, read from its report. A lost instance keeps the reason it
// was lost for ("instance gone", "agent not answering") until it answers again; from then on this says what is left.
import type { InstanceObservation } from '../shared/observation.js';

export function notReadyReason(o: InstanceObservation): string {
  if (o.role === 'replica') return 'its agent answers; postgres runs as a replica but does not stream from its primary (its postgres log says why)';
  if (o.role === 'primary') return 'its agent answers; postgres accepts connections as a primary, but the instance does not hold the primary role';
  return 'its agent answers; postgres is not running or not answering';
}
