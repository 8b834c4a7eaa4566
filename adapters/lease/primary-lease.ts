// The primary lease: the split-brain guard. Whoever holds it may run as the writable primary; nobody promotes while
// it is live. Redis in local mode, a Kubernetes Lease object later, behind this one interface.

export interface LeaseHolder {
  /** Instance name, or an operator plan ("failover:…", "switchover:…") holding it while it decides. */
  holder: string;
  host: string;
  port: number;
}

export interface LeaseState { holder: LeaseHolder | null; ttlMs: number }

/** The last promoted primary, kept without expiry: an old primary coming back may only lead if it is this one. */
export interface PrimaryRecord { name: string; host: string; port: number; timeline: number; since: string }

export interface PrimaryLease {
  /** Takes the lease when it is free or already ours; returns the holder after the attempt. */
  acquire(me: LeaseHolder, ttlMs: number): Promise<{ acquired: boolean; holder: LeaseHolder | null }>;
  /** Extends our lease; false when it is no longer ours (expired and taken, or handed over). */
  renew(holder: string, ttlMs: number): Promise<boolean>;
  /** Atomically passes the lease from one holder to another (operator → promoted candidate). */
  handover(from: string, to: LeaseHolder, ttlMs: number): Promise<boolean>;
  release(holder: string): Promise<void>;
  read(): Promise<LeaseState>;
  recordPrimary(record: PrimaryRecord): Promise<void>;
  readPrimary(): Promise<PrimaryRecord | null>;
  close(): Promise<void>;
}

/** Instance names never contain ':'; operator plans ("failover:…") always do. */
export const isInstanceHolder = (h: LeaseHolder | null): boolean => !!h && !h.holder.includes(':');

export class LeaseStoreUnreachable extends Error {
  constructor(why: string) { super(`lease store unreachable: ${why}`); this.name = 'LeaseStoreUnreachable'; }
}
