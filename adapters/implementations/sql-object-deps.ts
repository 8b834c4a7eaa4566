// What the user and database effects need: the store (to read the cluster), a superuser endpoint per instance
// (the platform's; TLS, when it comes, is added there and in sql/connect.ts), and the Secret store.
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { Endpoint } from '../sql/connect.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { Logger } from '../logging/logger.js';
import type { ResourceRef } from '../../machines/user/user.types.js';
import type { PrimaryWatch, WatchTiming } from './change-watcher.js';

export interface SqlObjectDeps {
  store: ResourceReader;
  endpoint(cluster: ResourceRef, instance: string): Promise<Endpoint>;
  secrets: SecretStore;
  log: Logger;
  now?: () => Date;
  /** A new random password (tests may pin it). */
  generatePassword?: () => string;
  timing?: Partial<WatchTiming>;
  /** Follows each cluster's primary, so an applied object is checked on a new one at once (the runtime's view). */
  primaries?: Omit<PrimaryWatch, 'store'>;
}
