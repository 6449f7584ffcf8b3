// Kubernetes API access for the operator, on @kubernetes/client-node: one configuration shared by
// every client, with a middleware that counts requests by verb (the "zero writes in steady state"
// promise is measured here, and exported as a metric).
import {
  ApiException,
  type Configuration,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  createConfiguration,
  HttpMethod,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  type RequestContext,
  type ResponseContext,
  type SecurityAuthentication,
  ServerConfiguration,
} from '@kubernetes/client-node';

export interface RequestRecord {
  method: string;
  url: string;
}

export class RequestCounter {
  readonly byMethod = new Map<string, number>();
  readonly writes: RequestRecord[] = [];
  private listeners: ((r: RequestRecord) => void)[] = [];

  record(method: string, url: string): void {
    this.byMethod.set(method, (this.byMethod.get(method) ?? 0) + 1);
    if (method !== 'GET') {
      const r = { method, url };
      this.writes.push(r);
      if (this.writes.length > 10_000) this.writes.splice(0, 5_000);
      for (const l of this.listeners) l(r);
    }
  }

  onWrite(listener: (r: RequestRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Write requests (anything but GET) so far, optionally excluding lease renewals. */
  writeCount(opts: { excludeLeases?: boolean } = {}): number {
    let n = 0;
    for (const [m, c] of this.byMethod) if (m !== 'GET') n += c;
    if (opts.excludeLeases) n -= this.writes.filter((w) => w.url.includes('/leases')).length;
    return n;
  }
}

export interface Kube {
  config: KubeConfig;
  objects: KubernetesObjectApi;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  /** JSON in, JSON out: for the hot paths (applies, informer lists), without client-node's models. */
  raw: RawApi;
  requests: RequestCounter;
}

/**
 * Requests whose bodies stay plain JSON. client-node's typed APIs round-trip every object through
 * its model classes (js-yaml to build one, a serializer walking the model's attribute map each way):
 * per apply of a 32-shard feed that was more CPU than the request itself. Same configuration,
 * connection pool, authentication and request counter as the typed APIs; errors are client-node's
 * ApiException, so statusOf and describeError read them alike.
 */
export class RawApi {
  private readonly configuration: Configuration;

  constructor(configuration: Configuration) {
    this.configuration = configuration;
  }

  /** GET of a path (e.g. a collection, with labelSelector), the parsed JSON body. */
  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    return this.send<T>(HttpMethod.GET, path, query);
  }

  /** Server-side apply of `object` at its path (…/namespaces/<ns>/<plural>/<name>); the object as stored. */
  apply<T>(path: string, object: object, fieldManager: string): Promise<T> {
    return this.send<T>(
      HttpMethod.PATCH,
      path,
      { fieldManager, force: 'true' },
      JSON.stringify(object),
      'application/apply-patch+yaml',
    );
  }

  private async send<T>(
    method: HttpMethod,
    path: string,
    query: Record<string, string | undefined>,
    body?: string,
    contentType?: string,
  ): Promise<T> {
    let ctx = this.configuration.baseServer.makeRequestContext(path, method);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) ctx.setQueryParam(k, v);
    ctx.setHeaderParam('Accept', 'application/json');
    if (body !== undefined) {
      ctx.setHeaderParam('Content-Type', contentType ?? 'application/json');
      ctx.setBody(body);
    }
    await this.configuration.authMethods.default?.applySecurityAuthentication(ctx);
    for (const m of this.configuration.middleware) ctx = await m.pre(ctx).toPromise();
    const response = await this.configuration.httpApi.send(ctx).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      throw new ApiException(response.httpStatusCode, `${method} ${path}`, parsed, response.headers);
    }
    return JSON.parse(text) as T;
  }
}

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * The kubeconfig's authentication over one connection pool. client-node 2.0's KubeConfig hands
 * every request a new undici Agent (applySecurityAuthentication → createDispatcher), so every API
 * call opened its own TLS connection — a full handshake, client certificate included, on both ends —
 * and left it idle until its keep-alive ran out: a 32-shard reconcile made 259 of them. Headers
 * (bearer tokens, which rotate) are still set per request; the TLS material (CA, client
 * certificate) is the one of the first request, so a rotated client-certificate file takes a restart.
 */
export class PooledAuthentication implements SecurityAuthentication {
  private readonly config: KubeConfig;
  private dispatcher: Dispatcher | undefined;

  constructor(config: KubeConfig) {
    this.config = config;
  }

  getName(): string {
    return 'kubeconfig over one connection pool';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.config.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    if (this.dispatcher === undefined) this.dispatcher = fresh;
    else context.setDispatcher(this.dispatcher);
  }
}

export function createKube(config: KubeConfig, requests = new RequestCounter()): Kube {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: new PooledAuthentication(config) },
    promiseMiddleware: [
      {
        pre: async (ctx: RequestContext) => {
          requests.record(ctx.getHttpMethod(), ctx.getUrl());
          ctx.setHeaderParam('User-Agent', 'stockify-operator');
          return ctx;
        },
        post: async (res: ResponseContext) => res,
      },
    ],
  });
  return {
    config,
    objects: new KubernetesObjectApi(configuration),
    custom: new CustomObjectsApi(configuration),
    core: new CoreV1Api(configuration),
    coordination: new CoordinationV1Api(configuration),
    raw: new RawApi(configuration),
    requests,
  };
}

/** HTTP status of a client-node error (ApiException.code), if any. */
export function statusOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

/** A short, secret-free description of an API error. */
export function describeError(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'body' in err) {
    const body = (err as { body?: unknown }).body;
    try {
      const parsed = typeof body === 'string' ? JSON.parse(body) : body;
      if (parsed && typeof parsed === 'object' && 'message' in parsed)
        return `${statusOf(err) ?? ''} ${(parsed as { message: string }).message}`.trim();
    } catch {
      // not JSON: fall through
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * A plain JSON object as client-node's model classes (whose field names differ from the wire names
 * for a few fields: `default`, `x-kubernetes-*`, `$ref`). Its serializer reads the model names, so a
 * plain object would lose those fields on the way out.
 */
export function toModel<T extends KubernetesObject>(object: T): T {
  return loadYaml<T>(JSON.stringify(object));
}
