// Reaching a k8s test cluster's instances as a peer does: a Secret's key, and SQL as the superuser on one instance
// over TLS, verified by the cluster's CA and its "any instance" Service name.
import pg from 'pg';
import { CoreV1Api } from '@kubernetes/client-node';
import type { K8sEnv } from './k8s-env.js';

export function instanceSql(env: () => K8sEnv, ns: string) {
  const secret = async (name: string, key: string): Promise<string> => {
    const s = await env().kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: ns, name });
    return Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
  };
  async function sql<T extends pg.QueryResultRow>(cluster: string, instance: string, text: string, values: unknown[] = []): Promise<T[]> {
    // Connecting is retried briefly (a loaded machine can drop a TLS handshake); a query is never retried.
    for (let attempt = 1; ; attempt++) {
      const client = new pg.Client({
        host: env().kubelet.podIP(ns, instance) ?? '', port: 5432, user: 'postgres', password: await secret(`${cluster}-superuser`, 'password'), database: 'postgres',
        ssl: { ca: await secret(`${cluster}-ca`, 'ca.crt'), servername: `${cluster}-r.${ns}.svc`, rejectUnauthorized: true }, connectionTimeoutMillis: 5000,
      });
      try { await client.connect(); } catch (e) {
        await client.end().catch(() => undefined);
        if (attempt >= 5) throw new Error(`connecting to ${instance} for ${JSON.stringify(text)}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000 * attempt));
        continue;
      }
      try { return (await client.query<T>(text, values)).rows; } finally { await client.end(); }
    }
  }
  /** The superuser's connection settings for one instance by its Pod IP (verify-full by the "any instance" name). */
  async function superuserConfig(cluster: string, instance: string): Promise<pg.ClientConfig> {
    const ip = env().kubelet.podIP(ns, instance);
    if (!ip) throw new Error(`${instance} has no Pod IP: it does not run`);
    return {
      host: ip, port: 5432, user: 'postgres', password: await secret(`${cluster}-superuser`, 'password'), database: 'postgres',
      ssl: { ca: await secret(`${cluster}-ca`, 'ca.crt'), servername: `${cluster}-r.${ns}.svc`, rejectUnauthorized: true },
    };
  }
  return { secret, sql, superuserConfig };
}
