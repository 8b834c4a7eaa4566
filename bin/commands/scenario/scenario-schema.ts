// The replayable scenario format: a cluster manifest and a list of steps (drills, waits, writes, expectations).
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from '../../../crds/schema-kit.js';

/** `primary` / `replica` (resolved when the step runs), `@name` (remembered earlier with `as`), or an instance name. */
const Ref = Type.String({ minLength: 1 });
const Timeout = Type.Optional(Type.Number({ minimum: 1, description: 'seconds' }));

export const Step = Type.Union([
  Strict({ up: Strict({ file: Type.String(), timeout: Timeout }) }),
  Strict({ kill: Strict({ instance: Ref, signal: Type.Optional(Type.Union(['KILL', 'TERM', 'STOP', 'CONT'].map((s) => Type.Literal(s)))), postgresOnly: Type.Optional(Type.Boolean()), as: Type.Optional(Type.String()) }) }),
  Strict({ partition: Strict({ instance: Ref, heal: Type.Optional(Type.Boolean()), as: Type.Optional(Type.String()) }) }),
  Strict({ failPromotion: Strict({ instance: Ref, heal: Type.Optional(Type.Boolean()), as: Type.Optional(Type.String()) }) }),
  Strict({ switchover: Strict({
    to: Type.Optional(Ref),
    outcome: Type.Optional(Type.Union([Type.Literal('promoted'), Type.Literal('rolledBack')], { description: 'how the switchover must end (default promoted)' })),
  }) }),
  Strict({ startWrites: Strict({ table: Type.Optional(Type.String()) }) }),
  Strict({ stopWrites: Strict({}) }),
  Strict({ write: Strict({ rows: Type.Integer({ minimum: 1 }), table: Type.String() }) }),
  Strict({ sleep: Type.Number({ minimum: 0, description: 'seconds' }) }),
  Strict({ waitFor: Strict({
    phase: Type.Optional(Type.String()), failovers: Type.Optional(Type.Integer({ minimum: 0 })),
    primaryNot: Type.Optional(Ref), readyInstances: Type.Optional(Type.Integer({ minimum: 0 })), timeout: Timeout,
    writable: Type.Optional(Type.Boolean({ description: 'the read-write endpoint answers as a primary' })),
  }) }),
  Strict({ expect: Strict({
    primary: Type.Optional(Ref), primaryNot: Type.Optional(Ref), timelineAtLeast: Type.Optional(Type.Integer()),
    failovers: Type.Optional(Type.Integer({ minimum: 0 })), lastOutcome: Type.Optional(Type.String()),
    rows: Type.Optional(Strict({ table: Type.String(), count: Type.Integer({ minimum: 0 }) })),
    noLostWrites: Type.Optional(Type.Boolean()), phase: Type.Optional(Type.String()),
  }) }),
]);

export const Scenario = Strict({
  name: Type.String(),
  description: Type.Optional(Type.String()),
  /** The machine path this scenario exercises; the model-based tests check it is one the machine really has. */
  model: Type.Optional(Strict({ machine: Type.Union([Type.Literal('failover'), Type.Literal('switchover')]), path: Type.Array(Type.String()) })),
  cluster: Type.String({ description: 'PostgresCluster name the steps act on' }),
  steps: Type.Array(Step, { minItems: 1 }),
});

export type Scenario = Static<typeof Scenario>;
export type Step = Static<typeof Step>;
