/**
 * docs/openapi.json against what the handlers really answer: every documented status of
 * every route is produced through the local HTTP API (real handlers, dynalite, Radicale)
 * and its body and headers are validated against the document's response schemas.
 */
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../local/dynamo.js';
import { accountKey } from '../../shared/store/table.js';
import { parseConnectRequest } from '../../shared/connection/connect-request.js';
import { ROUTE, startApiStack, type ApiResponse, type ApiStack, type CallOptions } from '../harness/api-stack.js';
import { deref, loadOpenApi, responseProblems, schemaOf } from '../harness/openapi.js';

const doc = loadOpenApi();
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const ANN = 'ann@icloud.com';
const BOB = 'bob@example.com';
const TODO_ONLY = 'todo@icloud.com';

let api: ApiStack;
let output: ApiStack['output'];
/** `METHOD status` pairs produced and validated. */
const covered = new Set<string>();

beforeAll(async () => {
  api = await startApiStack({
    users: { [ANN]: PASSWORD, [BOB]: PASSWORD, [TODO_ONLY]: PASSWORD },
    calendars: { [TODO_ONLY]: [{ slug: 'reminders', displayName: 'Reminders', components: ['VTODO'] }] },
  });
  output = api.output; // the handlers' JSON logs, kept out of the test report
});

afterAll(async () => {
  await api?.stop();
});

/** Calls the API and asserts the response conforms to the document; returns it. */
async function conforming(method: 'GET' | 'POST' | 'DELETE' | 'PATCH', opts: CallOptions, expectedStatus: number, path = ROUTE): Promise<ApiResponse> {
  const res = await api.call(method, { ...opts, suffix: `${path.slice(ROUTE.length)}${opts.suffix ?? ''}` });
  expect(res.status, res.text).toBe(expectedStatus);
  expect(responseProblems(doc, path, method, res)).toEqual([]);
  covered.add(`${method} ${path === ROUTE ? '' : path + ' '}${res.status}`);
  return res;
}

const BUSY = `${ROUTE}/busy`;
const INTERNAL = '/internal/accounts/{accountId}/apple-calendar/busy';

/** The booking service's route (not under ROUTE): called with a raw fetch, validated the same way. */
async function conformingInternal(accountId: string, query: string, authorization: string | undefined, expectedStatus: number): Promise<ApiResponse> {
  const res = await fetch(`${api.stack.url}/internal/accounts/${encodeURIComponent(accountId)}/apple-calendar/busy${query}`, {
    headers: authorization ? { authorization } : {},
  });
  const text = await res.text();
  const out: ApiResponse = { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
  expect(out.status, text).toBe(expectedStatus);
  expect(responseProblems(doc, INTERNAL, 'GET', out)).toEqual([]);
  covered.add(`GET ${INTERNAL} ${out.status}`);
  return out;
}

const body = (appleId: string, appSpecificPassword = PASSWORD) => ({ appleId, appSpecificPassword });

describe('the document', () => {
  const ops = doc.paths[ROUTE];

  it('is OpenAPI 3.1 with the dashboard routes behind the bearer JWT scheme and the internal route behind SigV4', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(Object.keys(ops).sort()).toEqual(['delete', 'get', 'patch', 'post']);
    expect(Object.keys(doc.paths).sort()).toEqual([ROUTE, BUSY, INTERNAL].sort());
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const m of ['get', 'post', 'delete', 'patch']) expect(ops[m].security ?? doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths[BUSY].get.security ?? doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths[INTERNAL].get.security).toEqual([{ sigv4: [] }]);
  });

  it('documents every status of the contract', () => {
    const statuses = (m: string) => Object.keys(ops[m].responses).sort();
    expect(statuses('post')).toEqual(expect.arrayContaining(['200', '201', '400', '401', '409', '422', '429', '502']));
    expect(statuses('get')).toEqual(expect.arrayContaining(['200', '401']));
    expect(statuses('delete')).toEqual(expect.arrayContaining(['204', '401']));
    expect(deref(doc, ops.delete.responses['204']).content).toBeUndefined();
  });

  it("401 is API Gateway's {\"message\":\"Unauthorized\"}; 429 carries a required integer Retry-After", () => {
    const s401 = deref(doc, ops.get.responses['401']).content['application/json'].schema;
    expect(schemaOf(doc, s401).safeParse({ message: 'Unauthorized' }).success).toBe(true);
    expect(schemaOf(doc, s401).safeParse({ error: { code: 'unauthorized', message: 'x' } }).success).toBe(false);
    const r429 = deref(doc, ops.post.responses['429']);
    const retryAfter = deref(doc, r429.headers['Retry-After']);
    expect(retryAfter.required).toBe(true);
    expect(deref(doc, retryAfter.schema).type).toBe('integer');
  });

  it('the connect example is a valid body for the schema and for the handler', () => {
    const media = ops.post.requestBody.content['application/json'];
    expect(schemaOf(doc, media.schema).safeParse(media.example).success).toBe(true);
    expect(parseConnectRequest(JSON.stringify(media.example))).toEqual(media.example);
    // The tolerated forms are in the schema too; a 15-letter password is not.
    expect(schemaOf(doc, media.schema).safeParse(body(ANN, ' ABCD EFGH IJKL MNOP ')).success).toBe(true);
    expect(schemaOf(doc, media.schema).safeParse(body(ANN, 'abcd-efgh-ijkl-mno')).success).toBe(false);
  });

  it('the details example matches the details schema', () => {
    const details = doc.components.schemas.ConnectedDetails;
    expect(schemaOf(doc, doc.components.schemas.Details).safeParse(details.example).success).toBe(true);
  });

  describe('the validator used below rejects what the document forbids', () => {
    const fake = (status: number, json: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({
      status,
      headers: new Headers(headers),
      text: json === undefined ? '' : JSON.stringify(json),
    });
    const details = { status: 'active', appleId: ANN, calendar: { name: 'Home', url: 'https://p01-caldav.icloud.com/1/calendars/home/' }, connectedAt: '2026-11-24T10:00:00.000Z' };

    it.each([
      ['an undocumented status', 'GET', fake(418, { x: 1 })],
      ['not_connected with another field', 'GET', fake(200, { status: 'not_connected', appleId: ANN })],
      ['a details object with a secret field', 'GET', fake(200, { ...details, ciphertext: 'AQID' })],
      ['an unknown status', 'GET', fake(200, { ...details, status: 'paused' })],
      ['lastSync failed without error', 'GET', fake(200, { ...details, lastSync: { at: '2026-11-24T10:05:00.000Z', outcome: 'failed' } })],
      ['a calendar URL that is not a URL', 'POST', fake(201, { ...details, calendar: { name: 'Home', url: 'home' } })],
      ['a 400 without fields', 'POST', fake(400, { error: { code: 'invalid_request', message: 'bad' } })],
      ['a 422 with another code', 'POST', fake(422, { error: { code: 'already_connected', message: 'x' } })],
      ['a 429 without Retry-After', 'POST', fake(429, { error: { code: 'too_many_attempts', message: 'x' } })],
      ['a 429 with a non-numeric Retry-After', 'POST', fake(429, { error: { code: 'too_many_attempts', message: 'x' } }, { 'content-type': 'application/json', 'retry-after': 'soon' })],
      ['a 204 with a body', 'DELETE', fake(204, { status: 'not_connected' })],
      ['JSON sent as text/plain', 'GET', fake(200, { status: 'not_connected' }, { 'content-type': 'text/plain' })],
    ])('%s', (_what, method, res) => {
      expect(responseProblems(doc, ROUTE, method, res).length).toBeGreaterThan(0);
    });
  });
});

describe('real responses conform to the document', () => {
  it('POST 201 connected and 200 reconnected; GET 200 active', async () => {
    const created = await conforming('POST', { as: 'u-connect', body: body(ANN) }, 201);
    expect(created.body.status).toBe('active');
    const again = await conforming('POST', { as: 'u-connect', body: body(ANN, 'ABCD EFGH IJKL MNOP') }, 200);
    expect(again.body.status).toBe('active');
    expect((await conforming('GET', { as: 'u-connect' }, 200)).body.status).toBe('active');
  });

  it('GET 200 in all three states, with and without lastSync', async () => {
    expect((await conforming('GET', { as: 'u-none' }, 200)).body).toEqual({ status: 'not_connected' });
    await conforming('POST', { as: 'u-states', body: body(ANN) }, 201);
    await api.connections.recordSync('u-states', { at: '2026-11-24T10:05:00.000Z', outcome: 'ok' });
    expect((await conforming('GET', { as: 'u-states' }, 200)).body.lastSync.outcome).toBe('ok');
    await api.connections.recordSync('u-states', { at: '2026-11-24T10:06:00.000Z', outcome: 'failed', error: 'credentials_rejected' }, 'error');
    expect((await conforming('GET', { as: 'u-states' }, 200)).body.status).toBe('error');
  });

  it('DELETE 204, connected or not', async () => {
    await conforming('DELETE', { as: 'u-states' }, 204);
    await conforming('DELETE', { as: 'u-states' }, 204);
  });

  it('POST 400 for a body that is not JSON, and for invalid fields', async () => {
    expect((await conforming('POST', { as: 'u-bad', body: '{nope' }, 400)).body.error.fields).toHaveProperty('body');
    expect((await conforming('POST', { as: 'u-bad', body: { appleId: 'x' } }, 400)).body.error.fields).toHaveProperty('appleId');
  });

  it('401 on every route without a valid token', async () => {
    await conforming('GET', { authorization: null }, 401);
    await conforming('POST', { authorization: 'Bearer nope', body: body(ANN) }, 401);
    const expired = await api.signToken({ sub: 'u-connect', exp: Math.floor(Date.now() / 1000) - 10, iat: Math.floor(Date.now() / 1000) - 100 });
    await conforming('DELETE', { authorization: `Bearer ${expired}` }, 401);
  });

  it('POST 409 already_connected', async () => {
    await conforming('POST', { as: 'u-two', body: body(ANN) }, 201);
    expect((await conforming('POST', { as: 'u-two', body: body(BOB) }, 409)).body.error.code).toBe('already_connected');
  });

  it('POST 422 invalid_credentials and no_calendar', async () => {
    expect((await conforming('POST', { as: 'u-422', body: body(ANN, 'wxyz-wxyz-wxyz-wxyz') }, 422)).body.error.code).toBe('invalid_credentials');
    expect((await conforming('POST', { as: 'u-422b', body: body(TODO_ONLY) }, 422)).body.error.code).toBe('no_calendar');
  });

  it('POST 429 too_many_attempts with Retry-After', async () => {
    // An Apple ID of its own: the limit also holds per Apple ID, and ANN must stay usable.
    for (let i = 0; i < 5; i++) await conforming('POST', { as: 'u-429', body: body('limited@example.com', 'wxyz-wxyz-wxyz-wxyz') }, 422);
    const res = await conforming('POST', { as: 'u-429', body: body('limited@example.com') }, 429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('POST 502 calendar_unavailable', async () => {
    api.caldav.setFault(() => ({ status: 503, headers: { 'retry-after': '120' } }));
    try {
      expect((await conforming('POST', { as: 'u-502', body: body(ANN) }, 502)).body.error.code).toBe('calendar_unavailable');
    } finally {
      api.caldav.setFault(undefined);
    }
  });

  it('POST 413 for a body over the API payload limit', async () => {
    await conforming('POST', { as: 'u-413', body: 'x'.repeat(10 * 1024 * 1024 + 1) }, 413);
  });

  it('500 internal_error (a failure inside the handler: here the table is gone for a moment)', async () => {
    // (A sub too long for a key was the way before: it is a 401 now, see security.test.ts.)
    await api.table.doc.send(new DeleteTableCommand({ TableName: api.table.name }));
    try {
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await conforming(method, { as: 'u-500' }, 500);
        expect(res.body.error.code).toBe('internal_error');
      }
      await conforming('POST', { as: 'u-500', body: body(ANN) }, 500);
      await conforming('PATCH', { as: 'u-500', body: { conflictCalendars: [] } }, 500);
      const q = '?from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z';
      await conforming('GET', { as: 'u-500', suffix: q }, 500, BUSY);
      await conformingInternal('u-500', q, `Bearer ${await api.stack.serviceToken()}`, 500);
    } finally {
      await ensureTable(api.stack.dynamoEndpoint, api.table.name);
    }
  });

  it('PATCH 200, 400 and 404; busy 200, 400, 404, 409 and 502; the internal route 200, 400, 401, 403, 404', async () => {
    const connected = await conforming('POST', { as: 'u-busy', body: body(ANN) }, 201);
    const home = connected.body.calendars[0].url;
    await conforming('PATCH', { as: 'u-busy', body: { conflictCalendars: [home] } }, 200);
    await conforming('PATCH', { as: 'u-busy', body: { calendar: home, alertMinutesBefore: 15 } }, 200);
    await conforming('PATCH', { as: 'u-busy', body: { alertMinutesBefore: null } }, 200);
    await conforming('PATCH', { as: 'u-busy', body: { conflictCalendars: ['https://elsewhere.example/'] } }, 400);
    await conforming('PATCH', { as: 'u-busy', body: {} }, 400);
    await conforming('PATCH', { as: 'u-busy', body: { alertMinutesBefore: 10_081 } }, 400);
    await conforming('PATCH', { as: 'u-none', body: { conflictCalendars: [] } }, 404);
    await conforming('PATCH', { authorization: null, body: { conflictCalendars: [] } }, 401);
    const q = '?from=2026-12-01T00:00:00Z&to=2026-12-08T00:00:00Z&timeZone=Europe/Berlin';
    await conforming('GET', { as: 'u-busy', suffix: q }, 200, BUSY);
    await conforming('GET', { as: 'u-busy', suffix: '?from=2026-12-08T00:00:00Z&to=2026-12-01T00:00:00Z' }, 400, BUSY);
    await conforming('GET', { as: 'u-none', suffix: q }, 404, BUSY);
    await conforming('GET', { authorization: null, suffix: q }, 401, BUSY);
    const service = `Bearer ${await api.stack.serviceToken()}`;
    await conformingInternal('u-busy', q, service, 200);
    await conformingInternal('u-busy', '?from=x&to=y', service, 400);
    await conformingInternal('u-busy', q, undefined, 401);
    await conformingInternal('u-busy', q, `Bearer ${await api.stack.token('u-busy')}`, 403);
    await conformingInternal('u-none', q, service, 404);
    // The cache is fresh (BUSY_REVALIDATE_SECONDS): make it older than 60 s, then the server fails.
    await api.table.doc.send(
      new UpdateCommand({ TableName: api.table.name, Key: { pk: accountKey('u-busy'), sk: 'BUSY#STATE' }, UpdateExpression: 'SET checkedAt = :t', ExpressionAttributeValues: { ':t': 0 } }),
    );
    api.caldav.setFault(() => ({ status: 503 }));
    try {
      await conforming('GET', { as: 'u-busy', suffix: q }, 502, BUSY);
      await conformingInternal('u-busy', q, service, 502);
    } finally {
      api.caldav.setFault(undefined);
    }
    await api.radicale.setPassword(ANN, 'zzzz-zzzz-zzzz-zzzz');
    try {
      await conforming('GET', { as: 'u-busy', suffix: q }, 409, BUSY);
      await conformingInternal('u-busy', q, service, 409);
    } finally {
      await api.radicale.setPassword(ANN, PASSWORD);
    }
  });

  it('every documented status of every route was produced and validated', () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, { responses: object }>>).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([m, op]) => Object.keys(op.responses).map((s) => `${m.toUpperCase()} ${path === ROUTE ? '' : path + ' '}${s}`)),
    );
    expect([...covered].sort()).toEqual(documented.sort());
  });
});
