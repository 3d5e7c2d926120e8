// The machine's kubectl, run against the local cluster.
import { execFile } from 'node:child_process';
import { kubeconfigPath } from './kube.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Text for kubectl's standard input, for `apply -f -`. */
  input?: string;
  timeoutMs?: number;
  /** Return a non-zero exit as a result instead of throwing. */
  allowFailure?: boolean;
}

/**
 * Runs `kubectl ARGS` with KUBECONFIG set to the local cluster's. Throws with kubectl's output
 * on a non-zero exit unless `allowFailure` is set.
 */
export function kubectl(args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kubectl',
      args,
      {
        env: { ...process.env, KUBECONFIG: kubeconfigPath() },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new Error(`kubectl ${args.join(' ')} failed to run: ${error.message}`, {
              cause: error,
            }),
          );
          return;
        }
        const code = error ? Number(error.code) : 0;
        if (code !== 0 && !options.allowFailure) {
          reject(new Error(`kubectl ${args.join(' ')} exited with ${code}:\n${stderr}${stdout}`));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) {
      child.stdin?.end(options.input);
    }
  });
}
