// What a client session needs from the router around it; the server implements it, tests can too.
import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { RouterMetrics } from '../metrics.js';
import type { StatementNames } from './statement-names.js';
import type { ShardPools } from '../pool/shard-pools.js';
import type { ShardRouting } from './shard-routing.js';
import type { ScramVerifier } from '../auth/scram.js';

export interface Cancellable { cancelRunning(): void }

export interface RouterContext {
  log: Logger;
  metrics: RouterMetrics;
  statements: StatementNames;
  lookupVerifier(role: string): Promise<ScramVerifier | null>;
  /** The role's stored verifier text on the default shard (copied to the others by role fan-out). */
  roleVerifier(role: string): Promise<string | null>;
  /** Server TLS for clients (SSLRequest); null answers 'N'. */
  tls: SecureContext | null;
  /** Refuse clients that do not ask for TLS (only meaningful with tls set). */
  requireTls: boolean;
  /** Keys the mock verifiers for unknown roles, so their salt is stable per role across attempts. */
  mockSecret: Buffer;
  poolFor(role: string, database: string, keys: { clientKey: Buffer; serverKey: Buffer }): ShardPools;
  /** A read-only router (backend.readOnly): a 25006 is the client's write refused by a replica, not a reason to replay. */
  readOnly: boolean;
  /** Null: one backend, pure pass-through. */
  sharding: ShardRouting | null;
  /** Issues the BackendKeyData a client will quote in a CancelRequest. */
  registerCancelKey(target: Cancellable): { processId: number; secretKey: number };
  forgetCancelKey(processId: number): void;
  cancel(processId: number, secretKey: number): void;
}
