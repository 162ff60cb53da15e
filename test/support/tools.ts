// Running the control-plane build's helm and kubectl against a test API server, and Istio's CRDs from
// the istio.io/api Go module (downloaded through the Go module proxy at test set-up, never committed).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { controlPlaneTool } from '../../src/harness/controlPlane.js';

const run = promisify(execFile);

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm or kubectl with `args` (and `stdin`); resolves with the exit code, never throws on a non-zero one. */
export function runTool(tool: 'helm' | 'kubectl', args: string[], stdin?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(controlPlaneTool(tool), args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, HELM_CACHE_HOME: path.join(process.env.TMPDIR ?? '/tmp', 'storage-authz-helm-cache') } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** Third-party CRDs the chart's optional objects need, from the projects' own Go modules. */
export const CRD_MODULES = {
  istio: { module: 'istio.io/api', version: 'v1.28.0', files: ['kubernetes/customresourcedefinitions.gen.yaml'] },
  certManager: { module: 'github.com/cert-manager/cert-manager', version: 'v1.19.1', files: ['deploy/crds/cert-manager.io_certificates.yaml', 'deploy/crds/cert-manager.io_clusterissuers.yaml', 'deploy/crds/cert-manager.io_issuers.yaml'] },
  prometheusOperator: { module: 'github.com/prometheus-operator/prometheus-operator', version: 'v0.90.1', files: ['example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml'] },
} as const;

/** Paths of a module's CRD manifests in the Go module cache (downloaded through the proxy on first use). */
export async function crdManifests(which: keyof typeof CRD_MODULES): Promise<string[]> {
  const { module, version, files } = CRD_MODULES[which];
  const { stdout } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], { maxBuffer: 1024 * 1024, timeout: 600_000 });
  const { Dir } = JSON.parse(stdout) as { Dir: string };
  return files.map((file) => path.join(Dir, file));
}
