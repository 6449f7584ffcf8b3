// The gateway's Redis connections: one for commands (latest:* reads), one subscriber for live:*.
// Connection errors are logged at debug: ioredis reconnects, /readyz says whether it is connected.
import { Redis } from 'ioredis';
import type { Logger } from '../core/log.ts';

export function redisConnection(url: string, name: string, log: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    commandTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', (err: Error) => log.debug({ err: err.message, connection: name }, 'Redis connection error'));
  return redis;
}
