/**
 * The busy functions as deployed (issue 16): they send the credentials only to the hosts
 * connect and sync may (CALDAV_ALLOWED_HOSTS), and busy-internal accepts only the booking
 * service's role (BUSY_READER_ROLE_ARNS), not any IAM caller the account allows.
 */
import { describe, expect, it } from 'vitest';
import { functionsByName, synthConnector } from './helpers.js';

const env = (resources: ReturnType<typeof synthConnector>['resources'], name: string) => functionsByName(resources)[name]![1].Properties.Environment.Variables as Record<string, unknown>;

describe('busy functions', () => {
  it('get CALDAV_ALLOWED_HOSTS like connect and sync', () => {
    const { resources } = synthConnector({ caldavAllowedHosts: 'dav.example.org,*.example.net' });
    for (const name of ['connect', 'sync', 'busy', 'busy-internal']) expect(env(resources, name).CALDAV_ALLOWED_HOSTS, name).toBe('dav.example.org,*.example.net');
  });

  it('busy-internal names the booking-service role it accepts; none configured: none', () => {
    const role = 'arn:aws:iam::111122223333:role/booking-service';
    expect(env(synthConnector({ producerPrincipalArn: role }).resources, 'busy-internal').BUSY_READER_ROLE_ARNS).toBe(role);
    expect(env(synthConnector().resources, 'busy-internal').BUSY_READER_ROLE_ARNS).toBe('');
    expect(env(synthConnector({ producerPrincipalArn: role }).resources, 'busy').BUSY_READER_ROLE_ARNS).toBeUndefined();
  });
});
