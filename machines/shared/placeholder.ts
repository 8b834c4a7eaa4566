// Effect slots declared in setup() must be filled by adapters through machine.provide(); a slot that was not
// provided fails loudly instead of silently doing nothing.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';

export function notProvided<TOutput = void, TInput = unknown>(slot: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(`effect "${slot}" was not provided; wire it in adapters/implementations`);
  });
}

export function notProvidedCallback<TInput = unknown>(slot: string) {
  return fromCallback<AnyEventObject, TInput>(() => {
    throw new Error(`effect "${slot}" was not provided; wire it in adapters/implementations`);
  });
}
