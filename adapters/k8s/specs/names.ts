// Names of the objects a cluster owns, shared by the operator (which creates them) and the agent (which reads them).
export type SecretRole = 'superuser' | 'replication' | 'app';
export const SECRET_ROLES: SecretRole[] = ['superuser', 'replication', 'app'];

export const secretName = (cluster: string, role: SecretRole) => `${cluster}-${role}`;
/** The bearer token the cluster's agents require on their API (key `token`), and where the Pod gets it. */
export const agentTokenSecretName = (cluster: string) => `${cluster}-agent-token`;
export const AGENT_TOKEN_KEY = 'token';
export const AGENT_TOKEN_ENV = 'PGOP_AGENT_TOKEN';
/** Timeline history files, one key per timeline, pruned to the newest few; deleted with the cluster. */
export const timelinesConfigMapName = (cluster: string) => `${cluster}-timelines`;
/** Operator-written facts the agents follow: the primary they replicate from. */
export const stateConfigMapName = (cluster: string) => `${cluster}-pgop`;
export const PRIMARY_KEY = 'primary';
/** The primary Lease: held and renewed by the primary's agent. */
export const primaryLeaseName = (cluster: string) => `${cluster}-primary`;
export const instanceServiceAccount = (cluster: string) => `${cluster}-instance`;

/** The cluster CA's public part (ca.crt only: what clients mount), its key (operator only), the server certificate. */
export const caSecretName = (cluster: string) => `${cluster}-ca`;
export const caKeySecretName = (cluster: string) => `${cluster}-ca-key`;
export const serverSecretName = (cluster: string) => `${cluster}-server`;

/** Where an instance's server certificate and CA come from: the user's Secrets when given, else the operator's. */
export function tlsSources(cluster: string, certificates?: { serverTLSSecret?: string; serverCASecret?: string }): { server: string; ca: string; caKey: 'ca.crt' } {
  if (certificates?.serverTLSSecret) return { server: certificates.serverTLSSecret, ca: certificates.serverCASecret ?? certificates.serverTLSSecret, caKey: 'ca.crt' };
  return { server: serverSecretName(cluster), ca: caSecretName(cluster), caKey: 'ca.crt' };
}

export const POSTGRES_PORT = 5432;
export const AGENT_PORT = 8000;
/** Where the pod mounts its volumes; the process kubelet in tests maps these to host directories. */
export const DATA_MOUNT = '/var/lib/postgresql/data';
export const RUN_MOUNT = '/var/run/pgop';
export const pgBinDirFor = (major: number) => `/usr/lib/postgresql/${major}/bin`;
/**
 * The container image the Pod runs, set by the operator beside `image` in the same spec: the agent reports it, so a
 * rolling update (ADR 0026, 0036) compares what each instance runs with the cluster's resolved image.
 */
export const IMAGE_ENV = 'PGOP_IMAGE';
/** On the PVC (the instance's record): the image its Pod runs, so a Pod recreated after a loss keeps it. */
export const IMAGE_ANNOTATION = 'postgres.keiailab.io/image';
