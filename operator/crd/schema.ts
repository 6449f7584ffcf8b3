// The MarketFeed schema, written once. `node operator/crd/generate.ts` turns it into the CRD YAML
// (crds/marketfeeds.stockify.io.yaml) and the TypeScript types (operator/crd/types.ts); render and
// the operator validate and default specs with it (operator/crd/validate.ts).
import { EXCHANGE_TIME_ZONE } from '../../services/core/market-time.ts';
import { DNS_LABEL_PATTERN } from '../../services/core/names.ts';
import type { Schema } from './jsonschema.ts';

export const GROUP = 'stockify.io';
export const VERSION = 'v1alpha1';
export const KIND = 'MarketFeed';
export const PLURAL = 'marketfeeds';
export const SINGULAR = 'marketfeed';
export const SHORT_NAMES = ['mf'];
export const API_VERSION = `${GROUP}/${VERSION}`;

const HHMM = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
/** IANA-looking names (Asia/Kolkata, America/Argentina/Buenos_Aires, UTC, Etc/GMT+5); the operator checks the rest. */
export const TIMEZONE_PATTERN = '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$';

const secretRef = (what: string, keys: Record<string, { key: string; description: string }>): Schema => ({
  description: `Secret (in the MarketFeed's namespace) holding ${what}. Its values reach the pods only through secretKeyRef, never as literals.`,
  type: 'object',
  required: ['name'],
  properties: {
    name: { description: 'Name of the Secret.', type: 'string', pattern: DNS_LABEL_PATTERN, maxLength: 253 },
    ...Object.fromEntries(
      Object.entries(keys).map(([field, k]) => [
        field,
        { description: k.description, type: 'string', minLength: 1, maxLength: 253, default: k.key } satisfies Schema,
      ]),
    ),
  },
});

const quantityMap = (what: string): Schema => ({
  description: `${what} per container, as Kubernetes quantities (cpu: "250m", memory: "256Mi").`,
  type: 'object',
  additionalProperties: {
    description: 'A Kubernetes quantity.',
    'x-kubernetes-int-or-string': true,
    pattern: '^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$',
  },
});

const resources: Schema = {
  description:
    "Compute resources of the component container, over the operator's defaults per component key by key (sized from measured memory; see the README). A memory limit is always set; requests drive the HPA CPU target.",
  type: 'object',
  default: {},
  properties: { requests: quantityMap('Requested resources'), limits: quantityMap('Resource limits') },
};

const scalingPolicy: Schema = {
  description:
    'At most `value` pods (type Pods) or percent of the current replicas (type Percent) added or removed per periodSeconds.',
  type: 'object',
  required: ['type', 'value', 'periodSeconds'],
  properties: {
    type: { description: 'Pods or Percent.', type: 'string', enum: ['Pods', 'Percent'] },
    value: { description: 'Pods, or percent of the current replicas; greater than zero.', type: 'integer', minimum: 1 },
    periodSeconds: {
      description: 'Window the change is counted over, in seconds (1–1800).',
      type: 'integer',
      minimum: 1,
      maximum: 1800,
    },
  },
};

interface ScalingDefaults {
  stabilizationWindowSeconds: number;
  policies?: { type: 'Pods' | 'Percent'; value: number; periodSeconds: number }[];
  selectPolicy?: 'Max' | 'Min';
}

const scalingRules = (direction: 'up' | 'down', why: string, defaults: ScalingDefaults): Schema => ({
  description: `How the HPA scales ${direction}: ${why}`,
  type: 'object',
  default: {},
  properties: {
    stabilizationWindowSeconds: {
      description: `Seconds of past recommendations the HPA looks back over before scaling ${direction} (0–3600); the ${direction === 'up' ? 'lowest' : 'highest'} one wins, so a ${direction === 'up' ? 'spike' : 'lull'} shorter than the window is ignored.`,
      type: 'integer',
      minimum: 0,
      maximum: 3600,
      default: defaults.stabilizationWindowSeconds,
    },
    policies: {
      description: `Limits on how much may be scaled ${direction} per period; the Kubernetes defaults when unset.`,
      type: 'array',
      minItems: 1,
      maxItems: 10,
      'x-kubernetes-list-type': 'atomic',
      items: scalingPolicy,
      ...(defaults.policies ? { default: defaults.policies } : {}),
    },
    selectPolicy: {
      description:
        'Which policy applies when several do: Max (the largest change), Min (the smallest) or Disabled (never scale this way).',
      type: 'string',
      enum: ['Max', 'Min', 'Disabled'],
      ...(defaults.selectPolicy ? { default: defaults.selectPolicy } : {}),
    },
  },
});

const behavior: Schema = {
  description:
    'Scaling behaviour of the HPA (autoscaling/v2 behavior), passed through as written. The defaults suit the market open: scale up at once, scale down calmly.',
  type: 'object',
  default: {},
  properties: {
    scaleUp: scalingRules(
      'up',
      'at once by default (no window; +100% or +4 pods per 15 s, whichever is more), for the opening burst.',
      {
        stabilizationWindowSeconds: 0,
        policies: [
          { type: 'Percent', value: 100, periodSeconds: 15 },
          { type: 'Pods', value: 4, periodSeconds: 15 },
        ],
        selectPolicy: 'Max',
      },
    ),
    scaleDown: scalingRules('down', 'calmly by default (a 300 s window), so a lull between bursts does not drop consumers.', {
      stabilizationWindowSeconds: 300,
    }),
  },
};

const autoscaling: Schema = {
  description:
    'Horizontal Pod Autoscaler (autoscaling/v2) for this component in every shard. When set, the HPA owns the replica count and the operator never sets it; maxReplicas may not exceed kafka.partitionsPerShard (more consumers than partitions would idle).',
  type: 'object',
  properties: {
    minReplicas: {
      description: 'Fewest replicas while the market is open.',
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 1,
    },
    maxReplicas: {
      description: 'Most replicas; at most kafka.partitionsPerShard.',
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 3,
    },
    targetCPUUtilization: {
      description:
        'Average CPU utilisation (percent of requests) the HPA aims for; above 100 when the pods may use more than they request.',
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 70,
    },
    lagPerReplica: {
      description:
        "Consumer lag (messages) one replica is expected to work off. The operator measures the shard's lag through the Kafka admin API and raises the HPA's minReplicas to ceil(lag / lagPerReplica), capped at maxReplicas (so never above the topic's partitions); the HPA still scales further on CPU. 0 = CPU only. When the lag cannot be measured the floor falls back to minReplicas.",
      type: 'integer',
      minimum: 0,
      default: 5000,
    },
    behavior,
  },
  'x-kubernetes-validations': [
    {
      rule: 'self.minReplicas <= self.maxReplicas',
      message: 'must not exceed maxReplicas',
      fieldPath: '.minReplicas',
    },
  ],
};

const consumerComponent = (name: string, what: string): Schema => ({
  description: `The ${name} Deployments (one per shard): ${what}`,
  type: 'object',
  default: {},
  properties: {
    replicas: {
      description:
        'Replicas of each shard when autoscaling is not set. Applied when the Deployment is created; afterwards `kubectl scale` owns it.',
      type: 'integer',
      minimum: 0,
      maximum: 64,
      default: 1,
    },
    resources,
    autoscaling,
  },
});

const retentionDays = (what: string, fallback: string): Schema => ({
  description: `Days of ${what} kept in PostgreSQL (0 = forever); ${fallback}.`,
  type: 'integer',
  minimum: 0,
});

const storageComponent: Schema = (() => {
  const base = consumerComponent('storage', 'PostgreSQL history, Redis live state, gRPC MarketData (Service <feed>-grpc).');
  return {
    ...base,
    properties: {
      ...base.properties,
      retention: {
        description:
          'Retention per history table, in days (0 = forever). Old data goes by whole time partitions (TimescaleDB chunks or pg_partman partitions).',
        type: 'object',
        default: {},
        properties: {
          ticks: retentionDays('raw ticks', 'spec.retentionDays when unset'),
          optionQuotes: retentionDays('option quotes (IV, Greeks)', 'spec.retentionDays when unset'),
          bars1m: { ...retentionDays('1-minute bars (and the 5m–1d bars built from them)', 'forever by default'), default: 0 },
          gex: { ...retentionDays('gamma exposure', 'forever by default'), default: 0 },
        },
      },
      compressAfterDays: {
        description:
          'TimescaleDB only: history older than this many days is compressed (segmented by instrument, ordered by time); 0 = never.',
        type: 'integer',
        minimum: 0,
        default: 7,
      },
    },
  };
})();

const segment: Schema = {
  description: 'Dhan exchange segment.',
  type: 'string',
  enum: ['IDX_I', 'NSE_EQ', 'NSE_FNO', 'NSE_CURRENCY', 'BSE_EQ', 'MCX_COMM', 'BSE_CURRENCY', 'BSE_FNO'],
};

const instrument: Schema = {
  description: 'One instrument to follow; option contracts are derived from optionChain.',
  type: 'object',
  required: ['symbol', 'securityId', 'segment'],
  properties: {
    symbol: { description: 'Trading symbol (NIFTY, RELIANCE).', type: 'string', minLength: 1, maxLength: 64 },
    securityId: { description: 'Dhan security id (digits).', type: 'string', pattern: '^[0-9]+$', maxLength: 20 },
    segment,
    kind: {
      description: 'What the instrument is: index, equity or future.',
      type: 'string',
      enum: ['index', 'equity', 'future'],
      default: 'index',
    },
    tickSize: { description: 'Price tick size.', type: 'number', minimum: 0.0001, default: 0.05 },
    lotSize: { description: 'Lot size (units per lot).', type: 'integer', minimum: 1, default: 1 },
    optionChain: {
      description: 'Follow the option chain of this underlying (snapshots, IV, Greeks, gamma exposure).',
      type: 'object',
      properties: {
        expiries: { description: 'Nearest expiries to follow.', type: 'integer', minimum: 1, maximum: 12, default: 2 },
        strikes: { description: 'Strikes on each side of the money.', type: 'integer', minimum: 1, maximum: 200, default: 20 },
        segment: { ...segment, description: 'Segment of the option contracts.', default: 'NSE_FNO' },
        lotSize: { description: 'Lot size of the option contracts.', type: 'integer', minimum: 1, default: 75 },
        strikeStep: {
          description: 'Distance between strikes; derived from the price when unset.',
          type: 'number',
          minimum: 0.01,
        },
      },
    },
    simulator: {
      description: 'Hints for the simulator source; ignored by other sources.',
      type: 'object',
      properties: {
        price: { description: 'Starting price.', type: 'number', minimum: 0.01 },
        volatility: { description: 'Annualised volatility (0.15 = 15%).', type: 'number', minimum: 0.0001 },
        ticksPerSecond: { description: 'Ticks per second of this instrument.', type: 'number', minimum: 0.001 },
      },
    },
  },
};

const source: Schema = {
  description: 'Where market data comes from: the built-in simulator, a recorded file (replay) or the Dhan live feed.',
  type: 'object',
  default: { type: 'simulator' },
  properties: {
    type: {
      description: 'simulator, replay or dhan.',
      type: 'string',
      enum: ['simulator', 'replay', 'dhan'],
      default: 'simulator',
    },
    simulator: {
      description: 'Simulator settings (type simulator).',
      type: 'object',
      default: {},
      properties: {
        seed: { description: 'Random seed (the same seed replays the same market).', type: 'integer', default: 42 },
        ticksPerSecond: { description: 'Ticks per second across a shard.', type: 'number', minimum: 0.001, default: 200 },
        chainSnapshotsPerSecond: {
          description: 'Option-chain snapshots per second per underlying and expiry.',
          type: 'number',
          minimum: 0.001,
          default: 1,
        },
        startTime: { description: 'Simulated session start (RFC 3339); now when unset.', type: 'string', format: 'date-time' },
      },
    },
    replay: {
      description: 'Replay settings (type replay).',
      type: 'object',
      required: ['path'],
      properties: {
        path: { description: 'File inside the pod (image or mounted volume) with the recording.', type: 'string', minLength: 1 },
        format: { description: 'jsonl or csv; from the file extension when unset.', type: 'string', enum: ['jsonl', 'csv'] },
        speed: {
          description: '1 = recorded speed, N = N times faster, 0 = as fast as possible.',
          type: 'number',
          minimum: 0,
          default: 1,
        },
      },
    },
    dhan: {
      description: 'Dhan live feed settings (type dhan).',
      type: 'object',
      required: ['credentialsSecretRef'],
      properties: {
        credentialsSecretRef: secretRef('the Dhan client id and access token', {
          clientIdKey: { key: 'clientId', description: 'Key of the client id in the Secret.' },
          accessTokenKey: { key: 'accessToken', description: 'Key of the access token in the Secret.' },
        }),
        mode: {
          description: 'Subscription depth: ticker, quote or full (5-level depth).',
          type: 'string',
          enum: ['ticker', 'quote', 'full'],
          default: 'full',
        },
        optionChainPollSeconds: {
          description: 'Seconds between option-chain requests (Dhan allows one per 3 s).',
          type: 'number',
          minimum: 3,
          default: 3,
        },
        scripMasterUrl: {
          description:
            "URL of Dhan's instrument master CSV (api-scrip-master.csv), read by ingestion at start: it resolves the option contracts of every instrument with optionChain, which are then streamed live (strikes around the money, re-centred as the spot moves) with IV and Greeks per tick. Unset: option contracts come from the option-chain REST snapshots only.",
          type: 'string',
          pattern: '^https?://',
        },
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: "self.type != 'dhan' || has(self.dhan)",
      message: 'needs dhan (credentialsSecretRef) when type is dhan',
    },
    {
      rule: "self.type != 'replay' || has(self.replay)",
      message: 'needs replay (path) when type is replay',
    },
  ],
};

const schedule: Schema = {
  description:
    'Market hours. Inside a window the MarketOpen condition is True and components run at their normal size; outside (and on holidays) ingestion and the HPA minimums drop to closed.minReplicas. Without a schedule the market is always open.',
  type: 'object',
  properties: {
    timezone: {
      description: 'IANA time zone of the windows and holidays (Asia/Kolkata). Unknown zones set the Degraded condition.',
      type: 'string',
      pattern: TIMEZONE_PATTERN,
      maxLength: 64,
      default: EXCHANGE_TIME_ZONE,
    },
    open: {
      description: 'Weekly windows when the market is open.',
      type: 'array',
      maxItems: 32,
      default: [{ days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], from: '09:00', to: '15:45' }],
      items: {
        description: 'A window on some weekdays, from (inclusive) to (exclusive), local time.',
        type: 'object',
        required: ['days', 'from', 'to'],
        properties: {
          days: {
            description: 'Weekdays of the window.',
            type: 'array',
            minItems: 1,
            maxItems: 7,
            'x-kubernetes-list-type': 'set',
            items: { description: 'A weekday.', type: 'string', enum: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] },
          },
          from: { description: 'Opening time, HH:MM (24 h).', type: 'string', pattern: HHMM, maxLength: 5 },
          to: { description: 'Closing time, HH:MM (24 h), after from.', type: 'string', pattern: HHMM, maxLength: 5 },
        },
        'x-kubernetes-validations': [
          {
            rule: 'self.from < self.to',
            message: 'must be before to',
            fieldPath: '.from',
          },
        ],
      },
    },
    holidays: {
      description: 'Dates (YYYY-MM-DD, in the schedule time zone) when the market stays closed.',
      type: 'array',
      maxItems: 366,
      'x-kubernetes-list-type': 'set',
      default: [],
      items: {
        description: 'A date, YYYY-MM-DD.',
        type: 'string',
        pattern: '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$',
      },
    },
    closed: {
      description: 'Size outside market hours.',
      type: 'object',
      default: {},
      properties: {
        minReplicas: {
          description:
            'Ingestion replicas and HPA minReplicas while closed. HPAs cannot go below 1 (HPAScaleToZero is alpha), so they stop at 1.',
          type: 'integer',
          minimum: 0,
          maximum: 64,
          default: 0,
        },
      },
    },
  },
};

const egressRule = (what: string, port: string): Schema => ({
  description: `Egress to ${what}: TCP to these ports, at these CIDRs (none: any address on the ports).`,
  type: 'object',
  default: {},
  properties: {
    ports: {
      description: `Destination ports; ${port}.`,
      type: 'array',
      items: { description: 'A TCP port.', type: 'integer', minimum: 1, maximum: 65535 },
      maxItems: 16,
    },
    cidrs: {
      description: 'Destination CIDRs (10.0.0.0/8, 203.0.113.7/32); none: any address.',
      type: 'array',
      items: { description: 'A CIDR.', type: 'string', pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$', maxLength: 64 },
      maxItems: 32,
    },
  },
});

const networkPolicy: Schema = {
  description:
    'The NetworkPolicy <feed>-stockify on the feed pods: MarketData (50051) and metrics (9464) only from pods labelled clientLabel=true in the feed namespace, the feed gateway (app.kubernetes.io/name=gateway of the same instance) and the monitoring namespace; egress only to Kafka, PostgreSQL, Redis, DNS, Dhan and (auth.serviceAccountIssuer) the API server.',
  type: 'object',
  default: {},
  properties: {
    clientLabel: {
      description: 'Pods of the feed namespace with this label set to "true" may call MarketData.',
      type: 'string',
      minLength: 1,
      maxLength: 316,
      default: 'stockify.io/client',
    },
    monitoringNamespace: {
      description: 'Namespace (kubernetes.io/metadata.name) whose pods may call MarketData and scrape metrics; empty: none.',
      type: 'string',
      maxLength: 63,
      default: 'monitoring',
    },
    egress: {
      description: 'Where the feed pods may connect to; DNS (UDP and TCP 53) is always allowed.',
      type: 'object',
      default: {},
      properties: {
        kafka: egressRule(
          'the Kafka brokers',
          "the ports of kafka.bootstrapServers when unset (the brokers' advertised ports must be among them)",
        ),
        postgres: egressRule('PostgreSQL', '5432 when unset'),
        redis: egressRule('Redis', 'the port of redis.url when unset (6379)'),
        dhan: egressRule('the Dhan feed and REST hosts (ingestion of a Dhan feed)', '443 when unset'),
        apiServer: egressRule(
          'the Kubernetes API server (its service-account keys when auth.serviceAccountIssuer is set; IngestionGap Events of a Dhan feed)',
          '443 and 6443 when unset (the port the API server listens on, which the kubernetes Service forwards to)',
        ),
      },
    },
  },
};

const gateway: Schema = {
  description:
    'The <feed>-gateway Deployment, Service, HPA and PDB: REST with an OpenAPI 3.1 document, WebSocket and SSE live quotes from Redis, and the web console, in front of MarketData (Service <feed>-grpc). Off when unset.',
  type: 'object',
  properties: {
    replicas: {
      description: 'Replicas when autoscaling is not set.',
      type: 'integer',
      minimum: 0,
      default: 2,
    },
    autoscaling: {
      description: 'Horizontal Pod Autoscaler (autoscaling/v2) of the gateway on CPU; when set it owns the replica count.',
      type: 'object',
      properties: {
        minReplicas: { description: 'Fewest replicas.', type: 'integer', minimum: 1, default: 2 },
        maxReplicas: { description: 'Most replicas.', type: 'integer', minimum: 1, default: 6 },
        targetCPUUtilization: {
          description: 'Average CPU utilisation (percent of requests) the HPA aims for.',
          type: 'integer',
          minimum: 1,
          maximum: 1000,
          default: 70,
        },
      },
      'x-kubernetes-validations': [
        { rule: 'self.minReplicas <= self.maxReplicas', message: 'must not exceed maxReplicas', fieldPath: '.minReplicas' },
      ],
    },
    resources,
    service: {
      description: 'The Service <feed>-gateway.',
      type: 'object',
      default: {},
      properties: {
        type: {
          description: 'Service type; LoadBalancer or NodePort to reach the gateway from outside the cluster.',
          type: 'string',
          enum: ['ClusterIP', 'NodePort', 'LoadBalancer'],
          default: 'ClusterIP',
        },
        port: { description: 'Service port of the HTTP API.', type: 'integer', minimum: 1, maximum: 65535, default: 80 },
      },
    },
    corsOrigins: {
      description: 'Browser origins allowed to call the API (https://console.example.com); none: no cross-origin access.',
      type: 'array',
      items: { description: 'An origin: scheme://host[:port].', type: 'string', pattern: '^https?://[^/]+$', maxLength: 253 },
      maxItems: 64,
    },
    rateLimitPerMinute: {
      description: 'Requests per minute per token (per client address when auth is off); over it: 429.',
      type: 'integer',
      minimum: 1,
      default: 1200,
    },
    live: {
      description:
        'Back-pressure of a live (WebSocket or SSE) connection: above highWaterBytes unsent, updates are conflated to the newest per instrument; a connection behind for longer than maxBehindSeconds is closed (WebSocket code 4008).',
      type: 'object',
      default: {},
      properties: {
        highWaterBytes: {
          description: 'Unsent bytes before conflation starts.',
          type: 'integer',
          minimum: 1024,
          default: 262144,
        },
        maxBehindSeconds: { description: 'How long a connection may stay behind.', type: 'integer', minimum: 1, default: 10 },
        maxInstruments: { description: 'Instruments one connection may subscribe.', type: 'integer', minimum: 1, default: 1000 },
      },
    },
  },
};

const auth: Schema = {
  description:
    'Bearer-token (JWT) authentication for the gateway and for MarketData and Ingest on gRPC (authorization: Bearer metadata). Tokens are verified against an HS256 secret, a JWKS URL (an OIDC issuer), or the cluster service-account issuer (projected ServiceAccount tokens of the audience). Scopes read, stream, ingest come from the scope/scp claim. Off when unset.',
  type: 'object',
  properties: {
    audience: { description: 'Required aud claim.', type: 'string', minLength: 1, maxLength: 253, default: 'stockify' },
    issuer: { description: 'Required iss claim; any issuer when unset.', type: 'string', maxLength: 2048 },
    hs256SecretRef: secretRef('the HS256 signing secret (at least 32 bytes)', {
      key: { key: 'secret', description: 'Key of the secret.' },
    }),
    jwksUrl: {
      description: "JWKS URL of an OIDC issuer (its discovery document's jwks_uri).",
      type: 'string',
      pattern: '^https?://',
      maxLength: 2048,
    },
    serviceAccountIssuer: {
      description:
        "Verify with the cluster's service-account issuer (https://kubernetes.default.svc/openid/v1/jwks), so pods authenticate with a projected ServiceAccount token of the audience.",
      type: 'boolean',
      default: false,
    },
    defaultScopes: {
      description: 'Scopes of a token without a scope claim (a ServiceAccount token).',
      type: 'array',
      items: { description: 'A scope.', type: 'string', enum: ['read', 'stream', 'ingest'] },
      default: ['read', 'stream'],
    },
  },
  'x-kubernetes-validations': [
    {
      rule: '(has(self.hs256SecretRef) ? 1 : 0) + (has(self.jwksUrl) ? 1 : 0) + (self.serviceAccountIssuer ? 1 : 0) == 1',
      message: 'set exactly one of hs256SecretRef, jwksUrl, serviceAccountIssuer',
    },
  ],
};

export const specSchema: Schema = {
  description: 'Desired state of a market-data feed: what to ingest, how many shards, and how each component runs.',
  type: 'object',
  required: ['instruments', 'kafka', 'postgres', 'redis'],
  properties: {
    shards: {
      description:
        'Number of instrument shards (scale subresource: `kubectl scale mf/<name> --replicas=N`). Instruments are spread by rendezvous hashing, so resharding moves the fewest; a removed shard is drained before it is deleted.',
      type: 'integer',
      minimum: 1,
      maximum: 256,
      default: 1,
    },
    paused: {
      description:
        'Stop reconciling: the operator leaves every owned object as it is (so does the annotation stockify.io/paused-reconcile: "true").',
      type: 'boolean',
      default: false,
    },
    networkPolicy,
    image: {
      description: 'Container image of the components; the operator default (STOCKIFY_IMAGE) when unset.',
      type: 'string',
      minLength: 1,
    },
    imagePullPolicy: {
      description: 'Image pull policy of the component containers.',
      type: 'string',
      enum: ['Always', 'IfNotPresent', 'Never'],
      default: 'IfNotPresent',
    },
    logLevel: {
      description: 'LOG_LEVEL of the components.',
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
    source,
    instruments: {
      description:
        'Instruments to follow. The id <segment>:<securityId> decides the shard; an option chain lives with its underlying.',
      type: 'array',
      minItems: 1,
      maxItems: 20000,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['segment', 'securityId'],
      items: instrument,
    },
    kafka: {
      description:
        'Kafka cluster and topic layout. Topics market.raw|enriched.<namespace>.<feed>.<shard> are created by the operator.',
      type: 'object',
      required: ['bootstrapServers'],
      properties: {
        bootstrapServers: {
          description: 'Brokers, host:port[,host:port...].',
          type: 'string',
          pattern: '^[^\\s,:]+:[0-9]+(,[^\\s,:]+:[0-9]+)*$',
        },
        partitionsPerShard: {
          description: 'Partitions of each shard topic; the upper bound of processor and storage replicas per shard.',
          type: 'integer',
          minimum: 1,
          maximum: 256,
          default: 3,
        },
        replicationFactor: {
          description: 'Replication factor of the topics.',
          type: 'integer',
          minimum: 1,
          maximum: 7,
          default: 1,
        },
        deletionPolicy: {
          description:
            'Retain keeps the topics when the MarketFeed (or a shard) is deleted; Delete removes them (a finalizer waits for it).',
          type: 'string',
          enum: ['Retain', 'Delete'],
          default: 'Retain',
        },
      },
    },
    postgres: {
      description: 'PostgreSQL (TimescaleDB when installed) for history.',
      type: 'object',
      required: ['secretRef'],
      properties: {
        secretRef: secretRef('the connection URL (DATABASE_URL)', {
          key: { key: 'url', description: 'Key of the URL in the Secret.' },
        }),
      },
    },
    redis: {
      description: 'Redis for latest state and live fan-out (the contract: proto/stockify/v1/redis.proto).',
      type: 'object',
      required: ['url'],
      properties: {
        url: { description: 'redis:// or rediss:// URL (REDIS_URL).', type: 'string', pattern: '^rediss?://.+' },
        latestTtlSeconds: {
          description:
            'Expiry of each latest:<instrument> key, renewed on every write, so instruments no longer fed disappear (0 = never). The default, 10 days, outlasts a long weekend with holidays.',
          type: 'integer',
          minimum: 0,
          default: 864000,
        },
      },
    },
    pricing: {
      description: 'Inputs of the option pricing model.',
      type: 'object',
      default: {},
      properties: {
        riskFreeRate: {
          description: 'Annual risk-free rate (0.065 = 6.5%).',
          type: 'number',
          minimum: -1,
          maximum: 1,
          default: 0.065,
        },
        dividendYield: {
          description: 'Annual dividend yield of the underlyings.',
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0,
        },
      },
    },
    retentionDays: {
      description:
        'Days of raw ticks and quotes kept in PostgreSQL (0 = forever); storage.retention.ticks and .optionQuotes override it per table.',
      type: 'integer',
      minimum: 0,
      default: 30,
    },
    ingestion: {
      description: 'The ingestion Deployments (one replica per shard: one source connection per shard).',
      type: 'object',
      default: {},
      properties: { resources },
    },
    processor: consumerComponent('processor', 'normalise, IV and Greeks, option chains, gamma exposure, bars.'),
    storage: storageComponent,
    gateway,
    auth,
    schedule,
  },
  'x-kubernetes-validations': [
    {
      rule: 'self.shards >= 1',
      message: 'must be at least 1',
      fieldPath: '.shards',
    },
    {
      // Dhan: an underlying and its live option contracts share one connection (operator/desired/dhan-budget.ts).
      rule: "self.source.type != 'dhan' || self.instruments.all(i, !has(i.optionChain) || i.optionChain.expiries * (2 * i.optionChain.strikes + 1) * 2 + 1 <= 5000)",
      message:
        'an underlying with optionChain must fit one Dhan connection (5,000 instruments): itself plus expiries × (2 × strikes + 1) × 2 option contracts; lower expiries or strikes',
      fieldPath: '.instruments',
    },
    {
      rule: '!has(self.processor) || !has(self.processor.autoscaling) || self.processor.autoscaling.maxReplicas <= self.kafka.partitionsPerShard',
      message: 'must not exceed kafka.partitionsPerShard',
      fieldPath: '.processor.autoscaling.maxReplicas',
    },
    {
      rule: '!has(self.storage) || !has(self.storage.autoscaling) || self.storage.autoscaling.maxReplicas <= self.kafka.partitionsPerShard',
      message: 'must not exceed kafka.partitionsPerShard',
      fieldPath: '.storage.autoscaling.maxReplicas',
    },
  ],
};

const condition: Schema = {
  description: 'A condition in the metav1.Condition shape.',
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { description: 'Ready, Progressing, Degraded or MarketOpen.', type: 'string', maxLength: 316 },
    status: { description: 'True, False or Unknown.', type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { description: 'The .metadata.generation the condition was computed from.', type: 'integer', minimum: 0 },
    lastTransitionTime: { description: 'When the status last changed.', type: 'string', format: 'date-time' },
    reason: { description: 'CamelCase reason for the last transition.', type: 'string', maxLength: 1024 },
    message: { description: 'Human-readable details.', type: 'string', maxLength: 32768 },
  },
};

export const statusSchema: Schema = {
  description: 'Observed state, written by the operator.',
  type: 'object',
  properties: {
    observedGeneration: { description: 'The .metadata.generation this status reflects.', type: 'integer' },
    shards: { description: 'Shards currently running (scale subresource statusReplicasPath).', type: 'integer' },
    selector: { description: 'Label selector of the feed pods (scale subresource labelSelectorPath).', type: 'string' },
    readyShards: { description: 'Shards whose Deployments are all available.', type: 'integer' },
    nextScheduleBoundary: {
      description: 'When the market next opens or closes (RFC 3339).',
      type: 'string',
      format: 'date-time',
    },
    conditions: {
      description: 'Ready, Progressing, Degraded, MarketOpen.',
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: condition,
    },
    dhanBudget: {
      description:
        "The feed's share of its Dhan account (credentials Secret), planned across every feed on it: 5 connections, one kept spare for handover, 5,000 subscriptions each (option contracts included), one option-chain request per 3 s.",
      type: 'object',
      properties: {
        secret: { description: 'The credentials Secret (the account).', type: 'string' },
        connections: { description: 'WebSocket connections this feed holds.', type: 'integer' },
        accountConnections: { description: 'Connections all feeds on the account hold.', type: 'integer' },
        connectionLimit: { description: "Dhan's connections per account.", type: 'integer' },
        spareConnections: { description: 'Connections kept free for the make-before-break handover.', type: 'integer' },
        subscriptions: { description: 'Instruments plus their live option contracts.', type: 'integer' },
        optionContracts: { description: 'Live option contracts counted in subscriptions.', type: 'integer' },
        capacity: { description: 'Subscriptions the held connections allow (5,000 each).', type: 'integer' },
        chainRequestMilliseconds: { description: 'Width of one option-chain request slot of the account.', type: 'integer' },
        chainSlots: { description: "The feed's option-chain slots in each turn of the account's cycle.", type: 'integer' },
        chainCycle: { description: "Slots in one turn of the account's cycle.", type: 'integer' },
        shards: {
          description:
            'Per shard: connections held, subscriptions on them, instruments carried for shards without one, chain slots.',
          type: 'array',
          items: {
            description: 'One shard.',
            type: 'object',
            required: ['index', 'connections'],
            properties: {
              index: { description: 'Shard index.', type: 'integer' },
              connections: { description: 'Connections it holds.', type: 'integer' },
              subscriptions: { description: 'Subscriptions on them.', type: 'integer' },
              carried: { description: 'Instruments of other shards it subscribes (published to their topics).', type: 'integer' },
              chainSlots: { description: 'Its option-chain slots per cycle.', type: 'integer' },
            },
          },
        },
      },
    },
    restart: {
      description:
        'The last restart asked for with the annotation stockify.io/restart: its value, the Deployments rolled so far and where it stands.',
      type: 'object',
      properties: {
        request: { description: 'The annotation value acted on.', type: 'string' },
        phase: { description: 'Rolling, Complete or Invalid.', type: 'string', enum: ['Rolling', 'Complete', 'Invalid'] },
        message: { description: 'Human-readable details.', type: 'string' },
        current: { description: 'The Deployment rolling now.', type: 'string' },
        done: {
          description: 'Deployments rolled, in order.',
          type: 'array',
          items: { description: 'A Deployment.', type: 'string' },
        },
        pending: {
          description: 'Deployments still to roll, in order.',
          type: 'array',
          items: { description: 'A Deployment.', type: 'string' },
        },
        startedAt: { description: 'When the request was first seen.', type: 'string', format: 'date-time' },
        finishedAt: { description: 'When the last Deployment was rolled.', type: 'string', format: 'date-time' },
      },
    },
    shardStatuses: {
      description: 'Per shard: instruments, readiness, and consumer lag while draining.',
      type: 'array',
      items: {
        description: 'One shard.',
        type: 'object',
        required: ['index', 'instruments', 'ready'],
        properties: {
          index: { description: 'Shard index.', type: 'integer' },
          instruments: { description: 'Instruments assigned to the shard.', type: 'integer' },
          ready: { description: 'All Deployments of the shard are available.', type: 'boolean' },
          draining: { description: 'The shard is being removed and waits for its consumers to catch up.', type: 'boolean' },
          lag: { description: 'Consumer lag (messages) of the shard when last measured.', type: 'integer' },
          processorLag: { description: 'Lag of the processor consumer group (raw topic) when last measured.', type: 'integer' },
          storageLag: { description: 'Lag of the storage consumer group (enriched topic) when last measured.', type: 'integer' },
        },
      },
    },
  },
};

export const printerColumns = [
  { name: 'Shards', type: 'integer', jsonPath: '.status.shards', description: 'Shards running' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Every shard available',
  },
  {
    name: 'Market',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="MarketOpen")].reason',
    description: 'Open or closed',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

/**
 * The default this schema declares at a path under spec ("instruments[].lotSize",
 * "source.simulator.seed"), for readers of objects that no API server defaulted: the shard file's
 * parser uses it so that each default is written here only. Throws on a path without one.
 */
export function specDefault<T extends string | number | boolean>(path: string): T {
  let node: Schema | undefined = specSchema;
  for (const part of path.split('.')) {
    const name = part.endsWith('[]') ? part.slice(0, -2) : part;
    node = node?.properties?.[name];
    if (part.endsWith('[]')) node = node?.items;
  }
  if (node?.default === undefined) throw new Error(`the MarketFeed schema declares no default at spec.${path}`);
  return node.default as T;
}
