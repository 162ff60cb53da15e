// `storage-authz csi-proxy`: placed in the CSI node DaemonSet between kubelet and the node plugin
// (kubelet's registration points at --listen; the plugin serves --plugin). See README "Pod-level
// mount authorization".
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { createLogger } from '../telemetry/log.js';
import { startCsiProxy } from './proxy.js';

interface CsiProxyFlags {
  listen: string;
  plugin: string;
  decisionUrl: string;
  caFile?: string;
  tokenFile: string;
  audience: string;
  logLevel: string;
}

export function csiProxyCommand(): Command {
  return new Command('csi-proxy')
    .description('CSI node proxy: checks each NodePublishVolume with the workload pod\'s token (serve /proxy/mount/), passes every other call through')
    .requiredOption('--listen <unix:path|host:port>', 'the socket kubelet connects to, e.g. unix:/csi/csi.sock')
    .requiredOption('--plugin <unix:path|host:port>', "the node plugin's own socket, e.g. unix:/csi/plugin.sock")
    .requiredOption('--decision-url <url>', 'the mount decision endpoint of storage-authz, e.g. https://storage-authz.example:443/proxy/mount/')
    .option('--ca-file <file>', 'CA (PEM) of the decision endpoint (default: the system CAs)')
    .option('--token-file <file>', "this pod's projected service-account token (one of the tenant's subjects), re-read per decision", '/var/run/secrets/storage-authz/token')
    .option('--audience <aud>', 'the audience of the pod tokens kubelet requests (CSIDriver spec.tokenRequests)', 'storage-authz')
    .option('--log-level <level>', 'pino level', process.env.LOG_LEVEL ?? 'info')
    .action(async (flags: CsiProxyFlags) => {
      const logger = createLogger({ name: 'storage-authz-csi-proxy', level: flags.logLevel });
      const proxy = await startCsiProxy({
        listen: flags.listen,
        plugin: flags.plugin,
        decisionUrl: flags.decisionUrl,
        ...(flags.caFile ? { decisionCa: await readFile(flags.caFile, 'utf8') } : {}),
        tokenFile: flags.tokenFile,
        audience: flags.audience,
        logger,
      });
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'csi-proxy stopping');
        void proxy.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
