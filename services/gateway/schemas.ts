// JSON Schemas of the gateway's routes: Fastify validates requests with them and @fastify/swagger
// turns them into the OpenAPI 3.1 document at /openapi.json. Times are epoch milliseconds (UTC),
// prices in rupees, IV and Greeks per unit (IV 0.15 = 15 %), GEX in rupees per 1 % spot move.

const ID_PATTERN = '^[A-Z_]+:[A-Za-z0-9._-]+$';

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json).',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    field: { type: 'string', description: 'The query or path parameter at fault, when one is.' },
    instance: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'detail'],
} as const;

export const snapshotSchema = {
  $id: 'Snapshot',
  type: 'object',
  description:
    'stockify.v1.Snapshot as JSON (camelCase field names of proto/stockify/v1/services.proto): `tick` for an instrument, `optionQuote` (IV, Greeks, OI, GEX) for an option contract. Times in epoch ms UTC.',
  additionalProperties: true,
  properties: {
    instrumentId: { type: 'string', description: 'SEGMENT:securityId, e.g. IDX_I:13' },
    timeMs: { type: 'integer', description: 'Exchange time of the update, epoch ms UTC' },
    tick: {
      type: 'object',
      additionalProperties: true,
      description: 'stockify.v1.Tick (lastPrice in rupees, volume cumulative for the day)',
    },
    optionQuote: { type: 'object', additionalProperties: true, description: 'stockify.v1.OptionQuote' },
  },
} as const;

const errors = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  403: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  429: { $ref: 'Problem#' },
  503: { $ref: 'Problem#' },
} as const;

const open = { type: 'object', additionalProperties: true } as const;
const security = [{ bearer: [] }];
const instrumentParam = {
  type: 'object',
  properties: { id: { type: 'string', pattern: ID_PATTERN, description: 'Instrument id, e.g. IDX_I:13' } },
  required: ['id'],
} as const;
const epochMs = (description: string) => ({ type: 'integer', minimum: 0, maximum: 253402300799999, description }) as const;

export const latestRoute = {
  tags: ['quotes'],
  summary: 'Latest snapshot of each instrument (Redis fast path of MarketData GetLatest)',
  security,
  querystring: {
    type: 'object',
    properties: { instruments: { type: 'string', minLength: 1, description: 'Comma-separated instrument ids (≤ 1000)' } },
    required: ['instruments'],
  },
  response: {
    200: { type: 'object', properties: { snapshots: { type: 'array', items: { $ref: 'Snapshot#' } } } },
    ...errors,
  },
} as const;

export const ticksRoute = {
  tags: ['history'],
  summary: 'Stored ticks of an instrument in [from, to], oldest first, paged',
  security,
  params: instrumentParam,
  querystring: {
    type: 'object',
    properties: {
      from: epochMs('Start, epoch ms UTC (default: an hour ago)'),
      to: epochMs('End, epoch ms UTC (default: now)'),
      limit: { type: 'integer', minimum: 1, maximum: 5000, description: 'Page size (default 100)' },
      page_token: { type: 'string', description: 'next_page_token of the previous page' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        ticks: { type: 'array', items: open, description: 'stockify.v1.Tick' },
        next_page_token: { type: 'string', description: '"" when there is no more' },
      },
    },
    ...errors,
  },
} as const;

export const recentRoute = {
  tags: ['history'],
  summary: 'The newest ticks of an instrument, newest first',
  security,
  params: instrumentParam,
  querystring: {
    type: 'object',
    properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'How many (default 100)' } },
  },
  response: { 200: { type: 'object', properties: { ticks: { type: 'array', items: open } } }, ...errors },
} as const;

export const barsRoute = {
  tags: ['history'],
  summary: 'OHLCV bars whose start lies in [from, to]',
  security,
  params: instrumentParam,
  querystring: {
    type: 'object',
    properties: {
      from: epochMs('Start, epoch ms UTC (default: a day ago)'),
      to: epochMs('End, epoch ms UTC (default: now)'),
      interval: { type: 'string', enum: ['1m', '5m', '15m', '1h', '1d'], default: '1m' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        bars: {
          type: 'array',
          description: 'stockify.v1.Bar: minuteStartMs = bar start (epoch ms), prices in rupees, volume in units',
          items: open,
        },
      },
    },
    ...errors,
  },
} as const;

const underlyingParam = {
  type: 'object',
  properties: { underlying: { type: 'string', minLength: 1, description: 'Instrument id (IDX_I:13) or symbol (NIFTY)' } },
  required: ['underlying'],
} as const;
const expiryQuery = {
  type: 'object',
  properties: { expiry: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (default: nearest)' } },
} as const;

const gexSchema = {
  type: 'object',
  description: 'Gamma exposure: Γ × OI × lot multiplier × S² × 0.01 per contract, calls +, puts − (rupees per 1 % move)',
  properties: {
    underlyingId: { type: 'string' },
    expiry: { type: 'string' },
    timeMs: { type: 'integer' },
    spot: { type: 'number' },
    netGex: { type: 'number' },
    callGex: { type: 'number' },
    putGex: { type: 'number' },
    zeroGamma: { type: ['number', 'null'], description: 'Spot where the net GEX changes sign; null when it does not' },
    strikes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { strike: { type: 'number' }, callGex: { type: 'number' }, putGex: { type: 'number' } },
      },
    },
  },
} as const;

export const chainRoute = {
  tags: ['options'],
  summary: 'Option chain of an underlying and expiry: IV, Greeks, OI, GEX per contract, net GEX, zero gamma',
  security,
  params: underlyingParam,
  querystring: expiryQuery,
  response: {
    200: {
      type: 'object',
      properties: {
        underlyingId: { type: 'string' },
        expiry: { type: 'string', description: 'YYYY-MM-DD' },
        spot: { type: 'number', description: 'Underlying price, rupees' },
        expiries: { type: 'array', items: { type: 'string' }, description: 'Expiries with stored contracts' },
        netGex: { type: 'number' },
        zeroGamma: { type: ['number', 'null'] },
        contracts: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              symbol: { type: 'string' },
              strike: { type: 'number' },
              optionType: { type: 'string', enum: ['CALL', 'PUT'] },
              price: { type: 'number' },
              bid: { type: 'number' },
              ask: { type: 'number' },
              iv: { type: ['number', 'null'], description: 'Implied volatility per unit (0.15 = 15 %); null when not solvable' },
              delta: { type: 'number' },
              gamma: { type: 'number' },
              theta: { type: 'number', description: 'Per year' },
              vega: { type: 'number', description: 'Per unit of volatility' },
              openInterest: { type: 'number', description: 'Contracts (units)' },
              volume: { type: 'number' },
              gex: { type: 'number' },
              timeMs: { type: 'integer' },
            },
          },
        },
        gex: gexSchema,
      },
    },
    ...errors,
  },
} as const;

export const gexRoute = {
  tags: ['options'],
  summary: 'Gamma exposure of an underlying and expiry, per strike',
  security,
  params: underlyingParam,
  querystring: expiryQuery,
  response: { 200: gexSchema, ...errors },
} as const;

export const instrumentsRoute = {
  tags: ['instruments'],
  summary: 'Instruments with stored quotes whose symbol or id starts with prefix',
  security,
  querystring: {
    type: 'object',
    properties: {
      prefix: { type: 'string', minLength: 1, maxLength: 64 },
      limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
    },
    required: ['prefix'],
  },
  response: {
    200: {
      type: 'object',
      properties: {
        instruments: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              symbol: { type: 'string' },
              segment: { type: 'string' },
              securityId: { type: 'string' },
              underlying: { type: 'string' },
              expiry: { type: 'string' },
              strike: { type: 'number' },
              optionType: { type: 'string' },
            },
          },
        },
      },
    },
    ...errors,
  },
} as const;

export const statusRoute = {
  tags: ['feed'],
  summary: "The feed's shard processes (stockify.v1.Shard GetStatus of each status endpoint)",
  security,
  response: {
    200: {
      type: 'object',
      properties: {
        shards: { type: 'array', items: open, description: 'stockify.v1.ShardStatus' },
        unreachable: {
          type: 'array',
          items: { type: 'object', properties: { endpoint: { type: 'string' }, error: { type: 'string' } } },
        },
      },
    },
    ...errors,
  },
} as const;

export const gapsRoute = {
  tags: ['feed'],
  summary: 'Recorded ingestion gaps overlapping [from, to]',
  security,
  querystring: {
    type: 'object',
    properties: {
      from: epochMs('Start, epoch ms UTC (default: a day ago)'),
      to: epochMs('End, epoch ms UTC (default: now)'),
      instrument: { type: 'string', pattern: ID_PATTERN },
    },
  },
  response: { 200: { type: 'object', properties: { gaps: { type: 'array', items: open } } }, ...errors },
} as const;

export const streamRoute = {
  tags: ['live'],
  summary: 'Server-sent events: the latest snapshot of each instrument, then every update (event: quote)',
  security,
  querystring: {
    type: 'object',
    properties: {
      instruments: { type: 'string', minLength: 1, description: 'Comma-separated instrument ids' },
      access_token: { type: 'string', description: 'Bearer token for clients that cannot set headers (EventSource)' },
    },
    required: ['instruments'],
  },
} as const;

export const wsRoute = {
  tags: ['live'],
  summary:
    'WebSocket: send {"op":"subscribe"|"unsubscribe","instruments":[ids]}; receive {"type":"quote","instrument","snapshot"} (JSON) or stockify.v1.Snapshot bytes (?format=protobuf). Closed with 4008 when the client stays behind.',
  security,
  querystring: {
    type: 'object',
    properties: {
      format: { type: 'string', enum: ['json', 'protobuf'], default: 'json' },
      access_token: { type: 'string', description: 'Bearer token for browsers (WebSocket cannot set headers)' },
    },
  },
} as const;

/** /v1/ws as an OpenAPI path item (the WebSocket plugin keeps its routes out of the generated document). */
export const wsOpenApiPath = {
  get: {
    tags: ['live'],
    summary: wsRoute.summary,
    security,
    parameters: [
      { name: 'format', in: 'query', schema: wsRoute.querystring.properties.format, description: 'json (default) or protobuf' },
      {
        name: 'access_token',
        in: 'query',
        schema: { type: 'string' },
        description: wsRoute.querystring.properties.access_token.description,
      },
    ],
    responses: {
      '101': { description: 'Switching Protocols: the WebSocket is open' },
      '401': {
        description: 'No or invalid token',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
      '403': {
        description: "Token lacks scope 'stream'",
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    },
  },
};
