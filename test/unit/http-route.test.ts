import { describe, expect, it, vi } from 'vitest';
import { SERVICE_CLAIM, SERVICE_CLAIM_VALUE } from '../../shared/busy/service-caller.js';
import { DomainError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { memoryOutput } from '../harness/log.js';
import { httpRoute, type HttpEvent } from '../../functions/lib/http.js';

const output = memoryOutput();
const log = createLogger({ serviceName: 't', stream: output.stream });
const event = (claims?: Record<string, unknown>) =>
  ({ routeKey: 'GET /integrations/apple-calendar', requestContext: { requestId: 'r', authorizer: claims ? { jwt: { claims, scopes: [] } } : undefined } }) as unknown as HttpEvent;

describe('httpRoute', () => {
  it('a token without a subject gets API Gateway’s 401 body and never reaches the route', async () => {
    const route = vi.fn();
    const handler = httpRoute(log, route);
    for (const e of [event(), event({}), event({ sub: '' }), event({ sub: 'svc:booking-service', [SERVICE_CLAIM]: SERVICE_CLAIM_VALUE })]) {
      const res = await handler(e, {} as never);
      expect(res).toMatchObject({ statusCode: 401, body: JSON.stringify({ message: 'Unauthorized' }) });
    }
    expect(route).not.toHaveBeenCalled();
  });

  it('passes only the sub claim as the account, maps domain errors, hides unknown ones', async () => {
    const seen: string[] = [];
    const handler = httpRoute(log, async (accountId) => {
      seen.push(accountId);
      if (accountId === 'b') throw new DomainError('too_many_attempts', 'wait', undefined, 42);
      if (accountId === 'c') throw new Error('dynamo exploded: secret detail');
      return { statusCode: 200 };
    });
    expect(await handler(event({ sub: 'a', accountId: 'x' }), {} as never)).toEqual({ statusCode: 200 });
    const limited = await handler(event({ sub: 'b' }), {} as never);
    expect(limited).toMatchObject({ statusCode: 429, headers: { 'retry-after': '42' } });
    expect(JSON.parse(limited.body!)).toEqual({ error: { code: 'too_many_attempts', message: 'wait' } });
    const failed = await handler(event({ sub: 'c' }), {} as never);
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toContain('secret detail');
    expect(seen).toEqual(['a', 'b', 'c']);
  });
});
