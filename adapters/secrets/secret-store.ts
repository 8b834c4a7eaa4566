// The port for Secrets the SQL controllers read (user passwords) and write (generated passwords): Kubernetes
// Secrets, or the local store's v1/Secret objects. Values are decoded here and never leave the effect that asked.
export interface StoredSecret {
  name: string;
  type: string;
  /** Decoded values. */
  values: Record<string, string>;
  resourceVersion: string;
  annotations: Record<string, string>;
}

export interface SecretWrite {
  type: string;
  values: Record<string, string>;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface SecretStore {
  read(namespace: string, name: string): Promise<StoredSecret | undefined>;
  /** Creates the Secret, or replaces its data when `expectedVersion` is still current (else throws). */
  write(namespace: string, name: string, s: SecretWrite, expectedVersion?: string): Promise<StoredSecret>;
}

/** Rotation time of a generated password, kept on the Secret itself so a re-run effect does not rotate twice. */
export const ROTATED_AT_ANNOTATION = 'postgres.keiailab.io/rotated-at';
export const GENERATED_FOR_LABEL = 'postgres.keiailab.io/user';
