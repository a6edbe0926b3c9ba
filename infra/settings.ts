// The deploy-time settings of the connector stack, read from CDK context (`cdk.json` or
// `cdk deploy -c key=value`) or passed as stack props. Everything is checked here, so a
// wrong value fails `cdk synth` with a message instead of deploying something broken.
import type { Node } from 'constructs';
import { ATTENDEE_MODES, ICLOUD_CALDAV_URL, type AttendeeMode } from '../shared/config.js';
import { invalidHostPattern, parseAllowedHosts } from '../shared/caldav/trusted-hosts.js';

export type { AttendeeMode };

export interface ConnectorSettings {
  /** Issuer of the dashboard's JWTs (the `iss` claim); its JWKS is found through OIDC discovery. */
  readonly jwtIssuer: string;
  /** Accepted `aud` values (at least one). */
  readonly jwtAudience: readonly string[];
  /** The dashboard's origin (scheme://host[:port]); the only origin CORS allows. */
  readonly dashboardOrigin: string;
  /** CalDAV server the connector logs in to. */
  readonly caldavServerUrl: string;
  /** Hosts that may receive the credentials (CALDAV_ALLOWED_HOSTS); default: iCloud's, or the server URL's host. */
  readonly caldavAllowedHosts?: readonly string[];
  /** Concurrency reserved for (and capping) connect; 0 reserves none (accounts with a small concurrency quota). */
  readonly connectReservedConcurrency: number;
  /** How attendees are written to the calendar event. */
  readonly attendeeMode: AttendeeMode;
  /** Role/user ARN of the booking service, given `sqs:SendMessage` on the booking-events queue. */
  readonly producerPrincipalArn?: string;
  /** Keep the table, the key and the log groups when the stack is deleted (default true). */
  readonly retainData: boolean;
  /** Optional SNS topic ARN that receives the alarms' state changes. */
  readonly alarmTopicArn?: string;
  /**
   * Create the table's `active` index (host-change detection's list; default true). Only for
   * upgrading a table from before the `unsettled` and `active` indexes: CloudFormation adds one
   * index per table update, so deploy once with false, then again with true.
   */
  readonly activeIndex: boolean;
}

export const SETTING_DEFAULTS = {
  caldavServerUrl: ICLOUD_CALDAV_URL,
  attendeeMode: 'attendees',
  retainData: true,
  connectReservedConcurrency: 10,
  activeIndex: true,
} as const;

/** Reads the settings from CDK context; throws a readable error for a missing or invalid one. */
export function settingsFromContext(node: Node): ConnectorSettings {
  const raw = (key: string): unknown => node.tryGetContext(key);
  return parseSettings({
    jwtIssuer: raw('jwtIssuer'),
    jwtAudience: raw('jwtAudience'),
    dashboardOrigin: raw('dashboardOrigin'),
    caldavServerUrl: raw('caldavServerUrl'),
    caldavAllowedHosts: raw('caldavAllowedHosts'),
    connectReservedConcurrency: raw('connectReservedConcurrency'),
    attendeeMode: raw('attendeeMode'),
    producerPrincipalArn: raw('producerPrincipalArn'),
    retainData: raw('retainData'),
    alarmTopicArn: raw('alarmTopicArn'),
    activeIndex: raw('activeIndex'),
  });
}

/** Validates raw values (context gives strings from `-c`, JSON values from cdk.json). */
export function parseSettings(input: Record<string, unknown>): ConnectorSettings {
  const producerPrincipalArn = optionalString(input.producerPrincipalArn);
  const alarmTopicArn = optionalString(input.alarmTopicArn);
  const allowedHosts = hostList(input.caldavAllowedHosts);
  return {
    jwtIssuer: httpsUrl('jwtIssuer', input.jwtIssuer),
    jwtAudience: audience(input.jwtAudience),
    dashboardOrigin: origin(input.dashboardOrigin),
    caldavServerUrl: httpsUrl('caldavServerUrl', input.caldavServerUrl ?? SETTING_DEFAULTS.caldavServerUrl),
    ...(allowedHosts ? { caldavAllowedHosts: allowedHosts } : {}),
    connectReservedConcurrency: wholeNumber('connectReservedConcurrency', input.connectReservedConcurrency ?? SETTING_DEFAULTS.connectReservedConcurrency, 0, 1000),
    attendeeMode: attendeeMode(input.attendeeMode ?? SETTING_DEFAULTS.attendeeMode),
    ...(producerPrincipalArn ? { producerPrincipalArn: arn('producerPrincipalArn', producerPrincipalArn, /^arn:aws[\w-]*:(iam|sts)::\d{12}:/) } : {}),
    retainData: bool('retainData', input.retainData ?? SETTING_DEFAULTS.retainData),
    ...(alarmTopicArn ? { alarmTopicArn: arn('alarmTopicArn', alarmTopicArn, /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/) } : {}),
    activeIndex: bool('activeIndex', input.activeIndex ?? SETTING_DEFAULTS.activeIndex),
  };
}

function fail(key: string, problem: string): never {
  throw new Error(`Setting "${key}" ${problem} (set it in cdk.json "context" or with -c ${key}=...)`);
}

function requiredString(key: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') fail(key, 'is required');
  return value.trim();
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function httpsUrl(key: string, value: unknown): string {
  const text = requiredString(key, value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(key, `is not a URL: ${text}`);
  }
  if (url.protocol !== 'https:') fail(key, `must be an https:// URL: ${text}`);
  return text;
}

function origin(value: unknown): string {
  const text = httpsUrl('dashboardOrigin', value);
  const url = new URL(text);
  if (url.origin !== text.replace(/\/$/, '')) fail('dashboardOrigin', `must be an origin only (scheme://host[:port]), got ${text}`);
  return url.origin;
}

function audience(value: unknown): string[] {
  // cdk.json can hold a list; `-c jwtAudience=a,b` arrives as one string.
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const items = list.map((item) => (typeof item === 'string' ? item.trim() : '')).filter((item) => item !== '');
  if (items.length === 0) fail('jwtAudience', 'needs at least one audience');
  return items;
}

function attendeeMode(value: unknown): AttendeeMode {
  if ((ATTENDEE_MODES as readonly unknown[]).includes(value)) return value as AttendeeMode;
  return fail('attendeeMode', `must be ${ATTENDEE_MODES.map((m) => `"${m}"`).join(' or ')}, got ${JSON.stringify(value)}`);
}

function bool(key: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(key, `must be true or false, got ${JSON.stringify(value)}`);
}

function arn(key: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) fail(key, `is not a valid ARN for this setting: ${value}`);
  return value;
}

function hostList(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : fail('caldavAllowedHosts', 'must be a list of host names');
  const hosts = parseAllowedHosts(list.map((h) => (typeof h === 'string' ? h : '')).join(','));
  if (!hosts) return undefined;
  const bad = hosts.map(invalidHostPattern).find(Boolean);
  if (bad) fail('caldavAllowedHosts', bad);
  return [...hosts];
}

function wholeNumber(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(key, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}
