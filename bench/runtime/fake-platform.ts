// A platform whose effects succeed at once: the runtime benchmark measures the control plane, not PostgreSQL.
import type { PlanPlatform } from '../../adapters/platform.js';
import type { PrimaryLease, LeaseState } from '../../adapters/lease/primary-lease.js';

const lease: PrimaryLease = {
  acquire: async (me) => ({ acquired: true, holder: me }),
  renew: async () => true,
  handover: async () => true,
  release: async () => undefined,
  read: async (): Promise<LeaseState> => ({ holder: null, ttlMs: 0 }),
  recordPrimary: async () => undefined,
  readPrimary: async () => null,
  close: async () => undefined,
};

export const fakePlatform: PlanPlatform = {
  provisionCluster: async () => undefined,
  deprovisionCluster: async () => undefined,
  createInstance: async () => undefined,
  removeInstance: async () => undefined,
  superuserEndpoint: async () => ({ host: '127.0.0.1', port: 1, user: 'x', password: 'x' }),
  lease: () => lease,
  agent: async () => null,
  agentToken: async () => 'unused',
  instanceGone: async () => false,
  repoint: async () => undefined,
  reroute: async () => undefined,
  unroute: async () => 'unrouted',
  fenceUnresponsive: async () => 'fenced',
};
