// Types of deploy/nginx-local.mjs.
export declare const TEMPLATE_PATH: string;
export declare const PLACEHOLDERS: readonly string[];
export type NginxLocalFiles = { config: string; prefix: string; pidFile: string; errorLog: string; accessLog: string; tempDir: string };
export declare function renderNginxLocal(o: {
  listenPort: number;
  gateways: Array<number | { host?: string; port: number }>;
  prefix: string;
  errorLog?: string;
  accessLog?: string | false;
  maxFails?: number;
  failTimeoutS?: number;
  template?: string;
}): { config: string; files: NginxLocalFiles };
export declare function writeNginxLocal(o: Parameters<typeof renderNginxLocal>[0]): NginxLocalFiles;
export declare function nginxLocalCommand(files: NginxLocalFiles, binary?: string): [string, string[]];
