import type { Response } from 'express';
import type { RedisConnection } from '../redis.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { HttpProblem } from './problem.js';

/**
 * How many statuses one token may post per minute through `POST /api/v1/statuses` and `POST /hooks/:token`
 * (STATUS_RATE_LIMIT): a runaway build script must not flood everyone who follows its service. Over the
 * budget the API answers 429 problem+json with `Retry-After`; every answer carries `RateLimit-*` headers.
 */
export interface StatusLimiter {
  /** Counts one status for the token; throws the 429 when the minute's budget is spent. */
  take(res: Response, tokenKey: string): Promise<void>;
}

export const noStatusLimit: StatusLimiter = { take: async () => {} };

const WINDOW_S = 60;

/**
 * With Redis the budget is shared by every web process (keys under `<QUEUE_PREFIX>:ratelimit:`); while Redis
 * does not answer, each process counts on its own instead of refusing statuses PostgreSQL would accept.
 * Without Redis (a process of its own, tests) it counts in memory.
 */
export function createStatusLimiter(opts: { perMinute: number; redis?: RedisConnection; prefix: string }): StatusLimiter {
  if (opts.perMinute <= 0) return noStatusLimit;
  const points = opts.perMinute;
  const memory = new RateLimiterMemory({ points, duration: WINDOW_S, keyPrefix: 'statuses' });
  const limiter: RateLimiterAbstract = opts.redis
    ? new RateLimiterRedis({
        storeClient: opts.redis,
        points,
        duration: WINDOW_S,
        keyPrefix: `${opts.prefix}:ratelimit:statuses`,
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      })
    : memory;
  const headers = (res: Response, r: RateLimiterRes) => {
    res.setHeader('RateLimit-Limit', String(points));
    res.setHeader('RateLimit-Remaining', String(Math.max(0, r.remainingPoints)));
    res.setHeader('RateLimit-Reset', String(Math.ceil(r.msBeforeNext / 1000)));
  };
  return {
    async take(res, tokenKey) {
      try {
        headers(res, await limiter.consume(tokenKey));
      } catch (rejected) {
        if (!(rejected instanceof RateLimiterRes)) throw rejected;
        headers(res, rejected);
        const seconds = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
        res.setHeader('Retry-After', String(seconds));
        throw new HttpProblem('rate_limited', `This token may post ${points} statuses a minute and has used them; retry in ${seconds} s.`);
      }
    },
  };
}
