// Conditions as the machines decide them. Times are added by the status writer in adapters/, which keeps
// lastTransitionTime when a condition's status did not change.
export interface ConditionIntent {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export const condition = (type: string, on: boolean, reason: string, message: string): ConditionIntent =>
  ({ type, status: on ? 'True' : 'False', reason, message });
