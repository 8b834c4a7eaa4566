// `pgop router`: the pg-router process (ADR 0013); `--kubernetes` is the entrypoint of the router Deployment's pods (ADR 0031).
import type { Command } from 'commander';
import type { RouterFlags } from '../../router/config.js';

export function registerRouterCommand(program: Command): void {
  program.command('router')
    .description('run pg-router: PostgreSQL wire protocol with transaction pooling (SCRAM against the cluster\'s own verifiers)')
    .option('--config <file>', 'JSON config: {listen, backend:{host, port, tls:{caFile, servername}, readOnly}, auth:{user, passwordFile, database}, pool:{size}, tls:{certFile, keyFile, require}, metrics, buffer:{timeoutMs, maxQueued}, sharding:{generation, shards:[{name, host, port, servername}], tables, referenceTables}}; re-read on SIGHUP and when it changes')
    .option('--listen <host:port>', 'client address (default 127.0.0.1:6432)')
    .option('--backend <host:port>', 'PostgreSQL address (default 127.0.0.1:5432)')
    .option('--auth-user <role>', 'role that looks up verifiers through pgop_router.lookup (default pgop_router, ADR 0039)')
    .option('--auth-database <db>', 'database of the auth query (default postgres)')
    .option('--auth-password-file <file>', 'file holding that role\'s password (or PGOP_ROUTER_AUTH_PASSWORD)')
    .option('--pool-size <n>', 'backend connections per role and database (default 20)')
    .option('--tls-cert <file>', 'server certificate (PEM) for clients that send SSLRequest')
    .option('--tls-key <file>', 'its private key (PEM)')
    .option('--require-tls', 'refuse clients that do not use TLS')
    .option('--metrics <host:port>', 'serve /metrics here')
    .option('--read-only', 'the backend address spreads over streaming replicas: only hot standbys are used, writes get PostgreSQL\'s 25006 (backend.readOnly)')
    .option('--kubernetes', 'run as a pod of a sharded cluster\'s router Deployment: the config comes from its ConfigMap and Secrets (POD_NAMESPACE, POD_IP, PGOP_ROUTER_CLUSTER)')
    .action(async (flags: RouterFlags & { kubernetes?: boolean }) => {
      // Loaded here, not at the top: every other pgop command would pay for the router's modules at start.
      if (flags.kubernetes) { await (await import('../../router/k8s-router-pod.js')).runKubernetesRouter(); return; }
      const [{ loadRouterConfig }, { startRouter }, { watchRouterConfig }, { createLogger }, { serveMetrics }] = await Promise.all([
        import('../../router/config.js'), import('../../router/server.js'), import('../../router/config-watch.js'),
        import('../../adapters/logging/logger.js'), import('../../adapters/metrics/metrics-server.js'),
      ]);
      const config = loadRouterConfig(flags);
      const log = createLogger('router');
      const router = await startRouter(config, log);
      if (config.metrics) await serveMetrics(router.metrics.registry, config.metrics.port, config.metrics.host);
      // SIGHUP or a change of the --config file re-reads it (new shard addresses after a failover, CA rotation).
      watchRouterConfig(flags, router, log);
      const stop = () => { log.info('router stopping'); router.close().finally(() => process.exit(0)); };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
