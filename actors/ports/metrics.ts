// What the runtime reports; the prom-client registry in adapters/metrics implements it.
export interface RuntimeMetrics {
  transition(machine: string, from: string, to: string): void;
  reconcileError(kind: string): void;
  actors(kind: string, n: number): void;
  resourceState(kind: string, resource: string, state: string | null): void;
}
