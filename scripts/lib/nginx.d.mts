// Types of scripts/lib/nginx.mjs (imported by test/e2e/deploy.test.ts).
export declare const NGINX_INSTALL_HINT: string;
export declare function findNginx(env?: NodeJS.ProcessEnv): string | null;
export declare function nginxSpec(o: {
  binary: string;
  port: number;
  gateways: Array<{ id: string; port: number; url: string }>;
  tmpDir: string;
  runDir: string;
}): Record<string, unknown>;
