// A registration pairs a kind's pure binding with the factory of its effects. The composition root (bin/kinds.ts)
// holds the list; the runtime loops over it. Adding a kind: its machine, its binding, its implementations, and one
// `register(...)` line there.
import type { AnyStateMachine } from 'xstate';
import type { ImplementationsOf, KindBinding, RuntimeView } from './binding.js';
import type { ResourceKey } from './ports/resource-store.js';

export interface KindRegistration<D> {
  binding: KindBinding<AnyStateMachine>;
  /** Fills the machine's effect slots from the platform's dependencies. */
  implementations(deps: D, runtime: RuntimeView): ImplementationsOf<AnyStateMachine>;
  /** Platform-specific status fields merged into this kind's status (e.g. local endpoint addresses). */
  extraStatus?(key: ResourceKey, deps: D): Promise<Record<string, unknown>>;
}

export function register<M extends AnyStateMachine, D>(
  binding: KindBinding<M>,
  implementations: (deps: D, runtime: RuntimeView) => ImplementationsOf<M>,
  extra: { extraStatus?: (key: ResourceKey, deps: D) => Promise<Record<string, unknown>> } = {},
): KindRegistration<D> {
  return {
    binding: binding as unknown as KindBinding<AnyStateMachine>,
    implementations: implementations as (deps: D, runtime: RuntimeView) => ImplementationsOf<AnyStateMachine>,
    ...extra,
  };
}
