// Stack settings from CDK context: defaults, `-c` string forms, and readable failures.
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../infra/settings.js';

const base = {
  jwtIssuer: 'https://auth.example.com/',
  jwtAudience: ['apple-calendar-connector'],
  dashboardOrigin: 'https://dashboard.example.com',
};

describe('stack settings', () => {
  it('fills in the defaults', () => {
    expect(parseSettings(base)).toEqual({
      ...base,
      caldavServerUrl: 'https://caldav.icloud.com',
      attendeeMode: 'attendees',
      retainData: true,
      connectReservedConcurrency: 10,
      activeIndex: true,
    });
  });

  it('reads the trusted CalDAV hosts and connect\'s reserved concurrency, and refuses bad ones', () => {
    expect(parseSettings({ ...base, caldavAllowedHosts: 'dav.example.org, *.example.net', connectReservedConcurrency: '0' })).toMatchObject({
      caldavAllowedHosts: ['dav.example.org', '*.example.net'],
      connectReservedConcurrency: 0,
    });
    expect(parseSettings({ ...base, caldavAllowedHosts: ['caldav.icloud.com'] }).caldavAllowedHosts).toEqual(['caldav.icloud.com']);
    expect(() => parseSettings({ ...base, caldavAllowedHosts: '*' })).toThrow(/caldavAllowedHosts/);
    expect(() => parseSettings({ ...base, connectReservedConcurrency: '-1' })).toThrow(/connectReservedConcurrency/);
    expect(() => parseSettings({ ...base, connectReservedConcurrency: 'lots' })).toThrow(/connectReservedConcurrency/);
  });

  it('accepts the string forms `cdk deploy -c key=value` gives', () => {
    const settings = parseSettings({
      ...base,
      jwtAudience: 'dashboard, mobile',
      retainData: 'false',
      attendeeMode: 'description',
      producerPrincipalArn: 'arn:aws:iam::111122223333:role/booking-service',
    });
    expect(settings.jwtAudience).toEqual(['dashboard', 'mobile']);
    expect(settings.retainData).toBe(false);
    expect(settings.attendeeMode).toBe('description');
    expect(settings.producerPrincipalArn).toBe('arn:aws:iam::111122223333:role/booking-service');
  });

  it('normalises the dashboard origin', () => {
    expect(parseSettings({ ...base, dashboardOrigin: 'https://dashboard.example.com/' }).dashboardOrigin).toBe(
      'https://dashboard.example.com',
    );
  });

  it.each([
    [{ jwtIssuer: undefined }, /jwtIssuer" is required/],
    [{ jwtIssuer: 'http://auth.example.com/' }, /jwtIssuer" must be an https/],
    [{ jwtAudience: [] }, /jwtAudience" needs at least one/],
    [{ dashboardOrigin: 'https://dashboard.example.com/app' }, /dashboardOrigin" must be an origin only/],
    [{ attendeeMode: 'both' }, /attendeeMode" must be/],
    [{ retainData: 'yes' }, /retainData" must be true or false/],
    [{ producerPrincipalArn: 'booking-service' }, /producerPrincipalArn" is not a valid ARN/],
    [{ caldavServerUrl: 'caldav.icloud.com' }, /caldavServerUrl" is not a URL/],
  ])('rejects %o', (override, message) => {
    expect(() => parseSettings({ ...base, ...override })).toThrow(message);
  });
});
