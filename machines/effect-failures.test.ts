// Generated from machines/catalog.ts: for every machine and every invoke, the invoked effect fails (a rejecting
// promise, and a callback that throws) while the machine sits in the invoking state; the actor must stay alive
// (status !== 'error') and land in a named state. No step failure may kill an actor: a parent cluster actor in
// XState's error status stops reconciling until the operator restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromCallback, fromPromise, setup, type AnyActorLogic, type AnyActorRef, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { machineCatalog } from './catalog.js';
import { sampleInputs } from './sample-inputs.js';


/** A plausible input per machine id (machines/sample-inputs.ts). */

interface InvokeSite { node: AnyStateNode; id: string; src: string }

function invokeSites(node: AnyStateNode): InvokeSite[] {
  const here = node.invoke.map((i) => ({ node, id: i.id, src: typeof i.src === 'string' ? i.src : i.id }));
  return [...here, ...Object.values(node.states).flatMap((child) => invokeSites(child))];
}

/** The state value that has `node` active (other regions of parallel states at their initial states). */
function valueAt(machine: AnyStateMachine, node: AnyStateNode, context: unknown): unknown {
  const path = node.path;
  let value: unknown = path.at(-1);
  for (let i = path.length - 2; i >= 0; i--) value = { [path[i] as string]: value };
  return machine.resolveState({ value: value as never, context: context as never }).value;
}

const idle = fromPromise(() => new Promise<never>(() => undefined));
const failures: Record<string, AnyActorLogic> = {
  'a rejecting promise': fromPromise(async () => { throw new Error('injected failure'); }),
  'a throwing callback': fromCallback(() => { throw new Error('injected failure'); }),
};

/** Children send to their parent (sendParent): every machine runs as the one child of a bare parent. */
const harness = (child: AnyStateMachine) => setup({ actors: { child } }).createMachine({
  id: 'harness',
  context: ({ input }: { input: unknown }) => ({ input }),
  invoke: { id: 'child', src: 'child', input: ({ context }: { context: { input: unknown } }) => context.input as never },
});

type Persisted = Record<string, unknown> & { children: Record<string, { snapshot: Record<string, unknown> }> };

const stateIds = (machine: AnyStateMachine): Set<string> => {
  const out = new Set<string>();
  const walk = (n: AnyStateNode) => { out.add(n.path.join('.')); Object.values(n.states).forEach(walk); };
  walk(machine.root);
  return out;
};

const leaves = (value: unknown, prefix: string[] = []): string[] =>
  typeof value === 'string' ? [[...prefix, value].join('.')]
    : Object.entries((value ?? {}) as Record<string, unknown>).flatMap(([k, v]) => leaves(v, [...prefix, k]));

for (const entry of machineCatalog) {
  const sites = invokeSites(entry.machine.root);
  test(`${entry.id}: every invoke has an error path that keeps the actor alive (${sites.length} invokes)`, async () => {
    const input = sampleInputs[entry.id];
    assert.ok(input, `machines/effect-failures.test.ts has no sample input for ${entry.id}: add one`);
    const problems: string[] = [];
    const slots = Object.keys((entry.machine.implementations as { actors: Record<string, unknown> }).actors);
    for (const site of sites) {
      for (const [how, failing] of Object.entries(failures)) {
        const actors = Object.fromEntries(slots.map((s) => [s, idle]));
        const machine = entry.machine.provide({ actors: { ...actors, [site.src]: failing } as never });
        const parent = harness(machine);
        const template = createActor(parent, { input }).getPersistedSnapshot() as unknown as Persisted;
        const child = template.children.child?.snapshot ?? {};
        // A snapshot restored mid-invoke re-runs the invoked effect: here, the failing one.
        const restored = {
          ...template,
          children: {
            child: {
              ...template.children.child,
              snapshot: {
                ...child,
                // A root-level invoke (a watcher running in every state) fails wherever the machine starts.
                value: site.node.path.length ? valueAt(machine, site.node, child.context) : child.value,
                children: { [site.id]: { src: site.src, snapshot: { status: 'active', input: {}, output: undefined, error: undefined } } },
              },
            },
          },
        };
        const actor = createActor(parent, { snapshot: restored as never, input });
        actor.subscribe({ error: () => undefined });
        actor.start();
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        const ref = actor.getSnapshot().children.child as AnyActorRef | undefined;
        const where = `${entry.id}: ${how} in ${site.id} (state ${site.node.path.join('.')})`;
        // A child that reached its final state is gone from its parent: that is a named state too.
        const after = ref?.getSnapshot() as { status: string; value: unknown; error?: unknown } | undefined;
        // An errored child leaves its parent's children and errors the parent, which has no onError here.
        if (after?.status === 'error' || actor.getSnapshot().status === 'error') {
          problems.push(`${where} put the actor into XState's error status: give the invoke an onError to a named state`);
        } else if (after) {
          const known = stateIds(machine);
          for (const leaf of leaves(after.value)) if (!known.has(leaf)) problems.push(`${where} landed in ${leaf}, not a named state`);
        }
        actor.stop();
      }
    }
    assert.deepEqual(problems, []);
  });
}
