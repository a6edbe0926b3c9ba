/**
 * Least privilege that still works: every DynamoDB and SQS action each function really makes —
 * recorded in its own clients while it runs its paths against dynalite, fauxqs and Radicale —
 * is granted to that function's role in the synthesized stack, on that resource (table, the
 * pending index, the queue, the dead-letter queue). The template tests say each role gets no
 * more than this; this says none gets less.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBusyHandler, createBusyInternalHandler } from '../../functions/handlers/busy.js';
import { createChooseCalendarsHandler } from '../../functions/handlers/choose-calendars.js';
import { createConnectHandler } from '../../functions/handlers/connect.js';
import { createDetailsHandler } from '../../functions/handlers/details.js';
import { createDisconnectHandler } from '../../functions/handlers/disconnect.js';
import { createHostChecksHandler } from '../../functions/handlers/host-checks.js';
import { createSweepHandler } from '../../functions/handlers/sweep.js';
import { createSyncHandler } from '../../functions/handlers/sync.js';
import { platformFrom } from '../../functions/lib/platform.js';
import { localCredentials } from '../../local/dynamo.js';
import { lambdaContext } from '../../local/http-api.js';
import { SERVICE_CLAIM, SERVICE_CLAIM_VALUE, SERVICE_SUBJECT } from '../../shared/busy/service-caller.js';
import { createLogger } from '../../shared/logger.js';
import { createTable } from '../../shared/store/table.js';
import { checkMessage } from '../../shared/host-changes/check-message.js';
import { bookingObjectId } from '../../shared/booking/ics.js';
import { bookingEvent, sqsEvent } from '../harness/bookings.js';
import { memoryOutput } from '../harness/log.js';
import { testStack, type Stack } from '../harness/stack.js';
import { actionsOf, functionsByName, statementsOfFunction, synthConnector, type Resource } from '../infra/helpers.js';
import { startProxy, type Proxy } from '../servers/proxy.js';
import { startRadicale, type RadicaleServer } from '../servers/radicale.js';

const ANN = 'ann@example.com';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const WRONG = 'wxyz-wxyz-wxyz-wxyz';

let radicale: RadicaleServer;
let proxy: Proxy;
let stack: Stack;
/** function name → the `action@resource` it used. */
const used = new Map<string, Set<string>>();

beforeAll(async () => {
  radicale = await startRadicale({ users: { [ANN]: PASSWORD } });
  proxy = await startProxy({ target: radicale.url });
  ({ stack } = await testStack(proxy.url, { sweepIntervalSeconds: 1, hostChangesReadLagSeconds: 0 }));
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await radicale?.stop();
});

/** The document client's commands (GetCommand) and the client's own (GetItemCommand) → IAM actions. */
const dynamoAction = (command: string) => {
  const name = command.replace(/Command$/, '');
  return ({ Get: 'GetItem', Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', BatchWrite: 'BatchWriteItem', BatchGet: 'BatchGetItem' } as Record<string, string>)[name] ?? name;
};
const SQS_ACTIONS: Record<string, string> = { SendMessageCommand: 'SendMessage', SendMessageBatchCommand: 'SendMessage', ChangeMessageVisibilityCommand: 'ChangeMessageVisibility' };

/** A platform for one function whose DynamoDB and SQS clients record what they are asked to do. */
function recordingPlatform(name: string) {
  const seen = used.get(name) ?? new Set<string>();
  used.set(name, seen);
  const table = createTable(stack.tableName, { endpoint: stack.dynamoEndpoint, region: 'us-east-1', credentials: localCredentials });
  table.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { IndexName?: string };
      seen.add(`dynamodb:${dynamoAction(context.commandName!)}@${input.IndexName ? `index/${input.IndexName}` : 'table'}`);
      return next(args);
    },
    { step: 'initialize', name: 'recordActions' },
  );
  const sqs = new SQSClient({ endpoint: stack.sqsEndpoint, region: 'us-east-1', credentials: localCredentials });
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const url = (args.input as { QueueUrl?: string }).QueueUrl;
      seen.add(`sqs:${SQS_ACTIONS[context.commandName!] ?? context.commandName}@${url === stack.dlqUrl ? 'dlq' : url === stack.changesQueueUrl ? 'changes' : 'queue'}`);
      return next(args);
    },
    { step: 'initialize', name: 'recordActions' },
  );
  return platformFrom(stack.config, { table, sqs, log: createLogger({ serviceName: name, stream: memoryOutput().stream }) });
}

function httpEvent(routeKey: string, claims: Record<string, string>, extra: Partial<APIGatewayProxyEventV2WithJWTAuthorizer> = {}) {
  return {
    routeKey,
    rawPath: '/',
    requestContext: { requestId: 'r', authorizer: { jwt: { claims, scopes: [] } } },
    isBase64Encoded: false,
    ...extra,
  } as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}
const ctx = () => lambdaContext('r');

it('every DynamoDB and SQS action a function makes is granted to it, on that resource', async () => {
  const handlers = {
    connect: createConnectHandler(recordingPlatform('connect')),
    details: createDetailsHandler(recordingPlatform('details')),
    'choose-calendars': createChooseCalendarsHandler(recordingPlatform('choose-calendars')),
    busy: createBusyHandler(recordingPlatform('busy')),
    'busy-internal': createBusyInternalHandler(recordingPlatform('busy-internal')),
    disconnect: createDisconnectHandler(recordingPlatform('disconnect')),
    sync: createSyncHandler(recordingPlatform('sync')),
    sweeper: createSweepHandler(recordingPlatform('sweeper')),
    'host-checks': createHostChecksHandler(recordingPlatform('host-checks')),
  };
  const me = { sub: 'acct-lp' };
  const post = (password: string) => handlers.connect(httpEvent('POST /integrations/apple-calendar', me, { body: JSON.stringify({ appleId: ANN, appSpecificPassword: password }) }), ctx());

  // connect: a rejected login (attempt limits), a connect, later a reconnect that requeues held changes.
  expect((await post(WRONG)).statusCode).toBe(422);
  expect((await post(PASSWORD)).statusCode).toBe(201);
  // sync: written; invalid (to the DLQ); refused for good; throttled (retry later); then held (401).
  const syncEvent = (bodies: unknown[]): SQSEvent => {
    const event = sqsEvent(bodies);
    for (const r of event.Records) r.receiptHandle = 'not-a-real-handle';
    return event;
  };
  // Two accounts in one batch: their connections are read together (BatchGetItem).
  await handlers.sync(syncEvent([bookingEvent('confirmed', me.sub, 'bk_ok', 0), bookingEvent('confirmed', 'acct-lp-unconnected', 'bk_none', 0), 'not json']));
  proxy.setFault((req) => (req.method === 'PUT' ? { status: 400 } : undefined));
  await handlers.sync(syncEvent([bookingEvent('confirmed', me.sub, 'bk_refused', 0)]));
  proxy.setFault((req) => (req.method === 'PUT' ? { status: 503, headers: { 'Retry-After': '1' } } : undefined));
  await handlers.sync(syncEvent([bookingEvent('confirmed', me.sub, 'bk_later', 0)]));
  proxy.setFault(undefined);
  await handlers.sync(syncEvent([bookingEvent('cancelled', me.sub, 'bk_ok', 1)]));
  await radicale.setPassword(ANN, WRONG);
  await handlers.sync(syncEvent([bookingEvent('confirmed', me.sub, 'bk_held', 0)]));
  await radicale.setPassword(ANN, PASSWORD);
  // the sweeper: due changes of an account in error (held), then requeued after the reconnect.
  await new Promise((r) => setTimeout(r, 1100)); // past the 1 s sweep interval: the changes are due
  await handlers.sweeper();
  expect((await post(PASSWORD)).statusCode).toBe(200);
  await new Promise((r) => setTimeout(r, 1100));
  await handlers.sweeper();
  // host changes: the scheduler sends the checks; sync runs one that finds a host deletion and reports it.
  expect((await handlers['host-checks']()).sent).toBeGreaterThan(0);
  await handlers.sync(syncEvent([bookingEvent('confirmed', me.sub, 'bk_after', 0), checkMessage(me.sub)]));
  await fetch(`${radicale.url}${radicale.calendarPath(ANN)}${bookingObjectId(me.sub, 'bk_after').filename}`, {
    method: 'DELETE',
    headers: { authorization: 'Basic ' + Buffer.from(`${ANN}:${PASSWORD}`).toString('base64') },
  });
  await handlers.sync(syncEvent([checkMessage(me.sub)]));
  await handlers.sync(syncEvent([checkMessage(me.sub)]));
  expect([...used.get('sync')!]).toContain('sqs:SendMessage@changes');
  // the dashboard's routes and the booking service's.
  expect((await handlers.details(httpEvent('GET /integrations/apple-calendar', me), ctx())).statusCode).toBe(200);
  const details = JSON.parse((await handlers.details(httpEvent('GET /integrations/apple-calendar', me), ctx())).body!);
  const patch = httpEvent('PATCH /integrations/apple-calendar', me, { body: JSON.stringify({ conflictCalendars: [details.calendars[0].url] }) });
  expect((await handlers['choose-calendars'](patch, ctx())).statusCode).toBe(200);
  const window = { from: '2026-12-01T00:00:00Z', to: '2026-12-08T00:00:00Z' };
  expect((await handlers.busy(httpEvent('GET /integrations/apple-calendar/busy', me, { queryStringParameters: window }), ctx())).statusCode).toBe(200);
  const internal = httpEvent('GET /internal/accounts/{accountId}/apple-calendar/busy', { sub: SERVICE_SUBJECT, [SERVICE_CLAIM]: SERVICE_CLAIM_VALUE }, {
    pathParameters: { accountId: me.sub },
    queryStringParameters: window,
  });
  expect((await handlers['busy-internal'](internal as never, ctx())).statusCode).toBe(200);
  expect((await handlers.disconnect(httpEvent('DELETE /integrations/apple-calendar', me), ctx())).statusCode).toBe(204);

  // What the stack grants, per function, as `action@resource`.
  const { resources } = synthConnector();
  const fns = functionsByName(resources);
  const id = (type: string, pick: (r: Resource) => boolean = () => true) => Object.entries(resources).find(([, r]) => r.Type === type && pick(r))![0];
  const tableArn = JSON.stringify({ 'Fn::GetAtt': [id('AWS::DynamoDB::Table'), 'Arn'] });
  const queueArn = JSON.stringify({ 'Fn::GetAtt': [id('AWS::SQS::Queue', (r) => !!r.Properties.RedrivePolicy && r.Properties.ContentBasedDeduplication === true), 'Arn'] });
  const dlqArn = JSON.stringify({ 'Fn::GetAtt': [id('AWS::SQS::Queue', (r) => !r.Properties.RedrivePolicy), 'Arn'] });
  const changesArn = JSON.stringify({ 'Fn::GetAtt': [id('AWS::SQS::Queue', (r) => !!r.Properties.RedrivePolicy && r.Properties.ContentBasedDeduplication === false), 'Arn'] });
  const resourceKind = (resource: unknown) => {
    const r = JSON.stringify(resource);
    if (r === tableArn) return 'table';
    if (r.includes('/index/pending')) return 'index/pending';
    if (r.includes('/index/unsettled')) return 'index/unsettled';
    if (r.includes('/index/active')) return 'index/active';
    if (r === changesArn) return 'changes';
    if (r === queueArn) return 'queue';
    if (r === dlqArn) return 'dlq';
    return r;
  };
  const missing: string[] = [];
  for (const [name, actions] of used) {
    const resourcesOf = (s: { Resource: unknown }) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
    const granted = new Set(statementsOfFunction(resources, fns[name]![1]).flatMap((s) => actionsOf(s).flatMap((a) => resourcesOf(s).map((r) => `${a}@${resourceKind(r)}`))));
    // The event source mapping (not the function's code) receives and deletes; the function itself changes visibility.
    if (name === 'sync') for (const a of ['sqs:ChangeMessageVisibility@queue']) expect(granted.has(a), a).toBe(true);
    for (const action of actions) if (!granted.has(action)) missing.push(`${name}: ${action}`);
  }
  expect(missing).toEqual([]);
  // The batch of two accounts above read both connections in one call.
  expect([...used.get('sync')!]).toContain('dynamodb:BatchGetItem@table');
  // And each function was exercised.
  expect([...used.keys()].sort()).toEqual(Object.keys(fns).sort());
  for (const [name, actions] of used) expect(actions.size, name).toBeGreaterThan(0);
});
