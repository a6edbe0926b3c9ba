// Template assertions on the connector stack: what a security reviewer checks.
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { createConnectorApp } from '../../infra/connector-app.js';
import { actionsOf, CDK_JSON_CONTEXT, functionsByName, ofType, statementsOfFunction, synthConnector, type Resource } from './helpers.js';

const { template, resources, stack } = synthConnector();
const fns = functionsByName(resources);
const fn = (name: string): Resource => fns[name]![1];
const fnId = (name: string): string => fns[name]![0];
// The booking-events queue and its DLQ (the calendar-changes queues live under HostChanges).
const bookingQueues = ofType(resources, 'AWS::SQS::Queue').filter(([id]) => !id.startsWith('HostChanges'));
const [[queueId, queue]] = bookingQueues.filter(([, q]) => q.Properties.RedrivePolicy) as [[string, Resource]];
const [[dlqId, dlq]] = bookingQueues.filter(([, q]) => !q.Properties.RedrivePolicy) as [[string, Resource]];
const [[changesId, changesQueue]] = ofType(resources, 'AWS::SQS::Queue').filter(([id, q]) => id.startsWith('HostChanges') && q.Properties.RedrivePolicy) as [[string, Resource]];
const [[tableId, table]] = ofType(resources, 'AWS::DynamoDB::Table') as [[string, Resource]];
const [[keyId, key]] = ofType(resources, 'AWS::KMS::Key').filter(([, k]) => !k.Properties.KeySpec) as [[string, Resource]];

describe('functions', () => {
  it('are the nine handlers with the shared defaults', () => {
    expect(Object.keys(fns).sort()).toEqual(['busy', 'busy-internal', 'choose-calendars', 'connect', 'details', 'disconnect', 'host-checks', 'sweeper', 'sync']);
    for (const [, f] of Object.values(fns)) {
      expect(f.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: 512,
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      expect(f.Properties.Environment.Variables).toMatchObject({
        TABLE_NAME: { Ref: tableId },
        LOG_LEVEL: expect.any(String),
        CIPHER: 'kms',
      });
      expect(f.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined(); // no --enable-source-maps: cold start
    }
  });

  it('get the environment their handlers read', () => {
    const env = (name: string) => fn(name).Properties.Environment.Variables;
    const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
    for (const name of ['connect', 'sync']) {
      expect(env(name)).toMatchObject({ KMS_KEY_ID: keyArn, CALDAV_SERVER_URL: 'https://caldav.icloud.com' });
    }
    for (const name of ['details', 'disconnect']) {
      expect(env(name).KMS_KEY_ID).toBeUndefined();
      expect(env(name).CALDAV_SERVER_URL).toBeUndefined();
    }
    expect(env('connect').QUEUE_URL).toEqual({ Ref: queueId }); // a reconnect requeues held changes
    for (const name of ['details', 'disconnect']) expect(env(name).QUEUE_URL).toBeUndefined();
    expect(env('sync')).toMatchObject({
      QUEUE_URL: { Ref: queueId },
      DLQ_URL: { Ref: dlqId },
      ATTENDEE_MODE: 'attendees',
      POWERTOOLS_SERVICE_NAME: 'apple-calendar-sync',
      RETRY_BASE_SECONDS: '30',
      SWEEP_INTERVAL_SECONDS: '60',
      MAX_RECEIVE_COUNT: '10',
    });
    expect(env('sweeper')).toMatchObject({ QUEUE_URL: { Ref: queueId }, SWEEP_INTERVAL_SECONDS: '60' });
    expect(env('sweeper').KMS_KEY_ID).toBeUndefined(); // it never decrypts
  });

  it('time out within API Gateway (HTTP) and at 60 s (sync)', () => {
    for (const name of ['connect', 'details', 'disconnect']) expect(fn(name).Properties.Timeout).toBeLessThan(29);
    expect(fn('sync').Properties.Timeout).toBe(60);
  });

  it('each log to their own log group, kept for a limited time', () => {
    const groups = Object.fromEntries(ofType(resources, 'AWS::Logs::LogGroup'));
    for (const [, f] of Object.values(fns)) {
      const groupId = f.Properties.LoggingConfig.LogGroup.Ref;
      expect(groups[groupId]?.Properties.RetentionInDays).toBe(30);
    }
    for (const group of Object.values(groups)) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('have roles without AWS managed policies', () => {
    for (const [, role] of ofType(resources, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('HTTP API', () => {
  it('has exactly the dashboard routes behind the JWT authorizer and the internal busy route behind IAM', () => {
    const routes = ofType(resources, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([
      'DELETE /integrations/apple-calendar',
      'GET /integrations/apple-calendar',
      'GET /integrations/apple-calendar/busy',
      'GET /internal/accounts/{accountId}/apple-calendar/busy',
      'PATCH /integrations/apple-calendar',
      'POST /integrations/apple-calendar',
    ]);
    const authorizerId = ofType(resources, 'AWS::ApiGatewayV2::Authorizer')[0]![0];
    for (const route of routes.filter((r) => !r.RouteKey.startsWith('GET /internal/'))) {
      expect(route.AuthorizationType).toBe('JWT');
      expect(route.AuthorizerId).toEqual({ Ref: authorizerId });
    }
    expect(routes.find((r) => r.RouteKey.startsWith('GET /internal/'))!.AuthorizationType).toBe('AWS_IAM');
  });

  it('routes each method to its function', () => {
    const integrations = Object.fromEntries(ofType(resources, 'AWS::ApiGatewayV2::Integration'));
    const target = (routeKey: string) => {
      const [, route] = ofType(resources, 'AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === routeKey)!;
      const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref;
      return integrations[integrationId]!.Properties.IntegrationUri['Fn::GetAtt'][0];
    };
    expect(target('POST /integrations/apple-calendar')).toBe(fnId('connect'));
    expect(target('GET /integrations/apple-calendar')).toBe(fnId('details'));
    expect(target('DELETE /integrations/apple-calendar')).toBe(fnId('disconnect'));
    expect(target('PATCH /integrations/apple-calendar')).toBe(fnId('choose-calendars'));
    expect(target('GET /integrations/apple-calendar/busy')).toBe(fnId('busy'));
    expect(target('GET /internal/accounts/{accountId}/apple-calendar/busy')).toBe(fnId('busy-internal'));
  });

  it('validates JWTs from the configured issuer and audience', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['apple-calendar-connector'] },
    });
  });

  it('allows CORS only from the dashboard origin', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['https://dashboard.example.com'],
        AllowMethods: Match.arrayWith(['GET', 'POST', 'DELETE']),
        AllowCredentials: false,
      },
    });
  });

  it('throttles the stage and writes access logs', () => {
    const [[, stage]] = ofType(resources, 'AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings.ThrottlingRateLimit).toBeGreaterThan(0);
    expect(stage.Properties.DefaultRouteSettings.ThrottlingBurstLimit).toBeGreaterThan(0);
    expect(stage.Properties.AccessLogSettings.DestinationArn).toBeDefined();
    expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/header|body/i);
  });
});

describe('IAM: least privilege', () => {
  const kmsActions = (name: string) =>
    statementsOfFunction(resources, fn(name)).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

  it('gives kms:Encrypt to connect only and kms:Decrypt to sync and the busy reads only, bound to the encryption context', () => {
    // (connect's kms:GenerateMac on the Apple ID key: test/infra/key-policy.test.ts)
    expect(kmsActions('connect').flatMap(actionsOf)).toEqual(['kms:Encrypt', 'kms:GenerateMac']);
    for (const name of ['sync', 'busy', 'busy-internal']) expect(kmsActions(name).flatMap(actionsOf), name).toEqual(['kms:Decrypt']);
    expect(kmsActions('details')).toEqual([]);
    expect(kmsActions('disconnect')).toEqual([]);
    expect(kmsActions('choose-calendars')).toEqual([]);
    expect(kmsActions('sweeper')).toEqual([]);
    for (const statement of [...kmsActions('connect'), ...kmsActions('sync'), ...kmsActions('busy'), ...kmsActions('busy-internal')].filter((s) => !actionsOf(s).includes('kms:GenerateMac'))) {
      expect(statement.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(statement.Condition).toEqual({
        Null: { 'kms:EncryptionContext:accountId': 'false' },
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['accountId'] },
      });
    }
  });

  it('grants KMS nowhere else (no other identity policy; the key policies: test/infra/key-policy.test.ts)', () => {
    const all = ofType(resources, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const kms = all.filter((s: any) => actionsOf(s).some((a) => a.startsWith('kms:')));
    expect(kms.flatMap(actionsOf).sort()).toEqual(['kms:Decrypt', 'kms:Decrypt', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateMac']); // sync, busy, busy-internal; connect
    expect(key.Properties.KeyPolicy.Statement.map((s: any) => s.Sid).sort()).toEqual([
      'AdministratorsManageButNeverUse',
      'DecryptByBusyInternalOnly',
      'DecryptByBusyOnly',
      'DecryptBySyncOnly',
      'EncryptByConnectOnly',
    ]);
  });

  it('gives each function only the table actions it uses, on the table only', () => {
    const expected: Record<string, string[]> = {
      connect: ['DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'],
      details: ['GetItem'],
      disconnect: ['BatchWriteItem', 'DeleteItem', 'Query'],
      busy: ['BatchWriteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'],
      'busy-internal': ['BatchWriteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'],
      'choose-calendars': ['GetItem', 'Query', 'UpdateItem'],
      // Host-change checks: the account's booking records (Query) and detection's tokens (PutItem).
      sync: ['BatchGetItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'],
      sweeper: ['DeleteItem', 'GetItem', 'UpdateItem'],
      'host-checks': [],
    };
    for (const [name, actions] of Object.entries(expected)) {
      const statements = statementsOfFunction(resources, fn(name))
        .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))
        .filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] }));
      expect(statements.flatMap(actionsOf).sort(), name).toEqual(actions.map((a) => `dynamodb:${a}`));
    }
    // The sweeper queries the sparse pending index; connect, details and PATCH the sparse unsettled
    // index (an account's changes not in the calendar); the host-change scheduler the sparse
    // active index; nobody else touches an index.
    const onIndexOf = (index: string) => [[['dynamodb:Query'], { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${index}`]] }]];
    for (const name of Object.keys(fns)) {
      const onIndex = statementsOfFunction(resources, fn(name))
        .filter((s) => JSON.stringify(s.Resource).includes('/index/'))
        .map((s) => [actionsOf(s), s.Resource]);
      if (name === 'sweeper') expect(onIndex, name).toEqual(onIndexOf('pending'));
      else if (name === 'host-checks') expect(onIndex, name).toEqual(onIndexOf('active'));
      else if (['connect', 'details', 'choose-calendars'].includes(name)) expect(onIndex, name).toEqual(onIndexOf('unsettled'));
      else expect(onIndex, name).toEqual([]);
    }
  });

  it('has no wildcard action and no "*" resource except for X-Ray', () => {
    for (const [, f] of Object.values(fns)) {
      for (const s of statementsOfFunction(resources, f)) {
        for (const action of actionsOf(s)) expect(action).not.toContain('*');
        if (JSON.stringify(s.Resource).includes('*')) {
          expect(s.Resource).toBe('*');
          expect(actionsOf(s).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        }
      }
    }
  });

  it('lets sync consume the booking-events queue and send only to the dead-letter queue and calendar-changes.fifo; connect only send to the queue', () => {
    const sqsStatements = statementsOfFunction(resources, fn('sync')).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    const onQueue = sqsStatements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] }));
    const onDlq = sqsStatements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [dlqId, 'Arn'] }));
    // Sends to the dead-letter queue and to calendar-changes.fifo (one statement for both).
    const onChanges = sqsStatements.filter(
      (s) => JSON.stringify(s.Resource) === JSON.stringify([{ 'Fn::GetAtt': [dlqId, 'Arn'] }, { 'Fn::GetAtt': [changesId, 'Arn'] }]),
    );
    expect(onChanges.flatMap(actionsOf)).toEqual(['sqs:SendMessage']);
    expect(onQueue.flatMap(actionsOf)).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
    expect(onQueue.flatMap(actionsOf)).not.toContain('sqs:SendMessage');
    expect(onDlq.flatMap(actionsOf)).toEqual([]);
    expect(onQueue.length + onDlq.length + onChanges.length).toBe(sqsStatements.length);
    // Only sync sends host-change reports; the scheduler only sends check messages to the booking-events queue.
    for (const name of Object.keys(fns).filter((n) => n !== 'sync')) {
      const onIt = statementsOfFunction(resources, fn(name)).filter((s) => JSON.stringify(s.Resource).includes(changesId));
      expect(onIt, name).toEqual([]);
    }
    const schedulerSqs = statementsOfFunction(resources, fn('host-checks')).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(schedulerSqs.map((s) => [actionsOf(s), s.Resource])).toEqual([[['sqs:SendMessage'], { 'Fn::GetAtt': [queueId, 'Arn'] }]]);
    const connectSqs = statementsOfFunction(resources, fn('connect')).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(connectSqs.map((s) => [actionsOf(s), s.Resource])).toEqual([[['sqs:SendMessage'], { 'Fn::GetAtt': [queueId, 'Arn'] }]]);
    for (const name of ['details', 'disconnect']) {
      expect(statementsOfFunction(resources, fn(name)).flatMap(actionsOf).filter((a) => a.startsWith('sqs:'))).toEqual([]);
    }
    const sweeperSqs = statementsOfFunction(resources, fn('sweeper')).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));
    expect(sweeperSqs.flatMap(actionsOf).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    for (const s of sweeperSqs) expect(s.Resource).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });

  it('schedules the host-change checks every 5 minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('host-checks'), 'Arn'] } })],
    });
    expect(fn('host-checks').Properties.Environment.Variables).toMatchObject({ QUEUE_URL: { Ref: queueId }, HOST_CHANGES_INTERVAL_SECONDS: '300' });
    expect(fn('sync').Properties.Environment.Variables).toMatchObject({ HOST_CHANGES_QUEUE_URL: { Ref: changesId }, HOST_CHANGES_INTERVAL_SECONDS: '300' });
  });

  it('runs the sweeper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('sweeper'), 'Arn'] } })],
    });
  });
});

describe('booking-events queue', () => {
  it('feeds the sync function with partial batch failures, small batches and low concurrency', () => {
    const [[, mapping]] = ofType(resources, 'AWS::Lambda::EventSourceMapping') as [[string, Resource]];
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: fnId('sync') },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeUndefined(); // FIFO event sources have none
  });

  it('is FIFO with content-based deduplication: one message group (writer) per account', () => {
    expect(queue.Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: true });
    expect(dlq.Properties).toMatchObject({ FifoQueue: true });
  });

  it('redrives to the dead-letter queue after the sync has handed valid changes to the sweeper; the DLQ keeps messages 14 days', () => {
    expect(queue.Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 });
    expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('has a visibility timeout of at least 6 x the sync function timeout', () => {
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn('sync').Properties.Timeout);
  });

  it('encrypts both queues and refuses non-TLS requests', () => {
    for (const q of [queue, dlq]) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    for (const id of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('has no producer in its policy until one is configured', () => {
    const statements = ofType(resources, 'AWS::SQS::QueuePolicy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((s: any) => s.Effect === 'Allow')).toEqual([]);
  });

  it('lets the configured producer principal send (queue policy) and call the internal busy route (its role policy)', () => {
    const producer = 'arn:aws:iam::111122223333:role/booking-service';
    const { template: withProducer } = synthConnector({ producerPrincipalArn: producer });
    withProducer.hasResourceProperties('AWS::IAM::Policy', {
      Roles: ['booking-service'],
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: Match.anyValue() })] },
    });
    const invoke = JSON.stringify(withProducer.findResources('AWS::IAM::Policy', { Properties: { Roles: ['booking-service'] } }));
    expect(invoke).toContain('/GET/internal/accounts/*/apple-calendar/busy');
    withProducer.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { AWS: producer },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('calendar-changes.fifo: encrypted, TLS only, deduplicated by the reporter\'s id; the booking service\'s role (the internal busy route\'s setting) may receive, nobody else', () => {
    expect(changesQueue.Properties).toMatchObject({ FifoQueue: true, ContentBasedDeduplication: false, SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: changesId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    for (const name of Object.keys(fns)) {
      const receive = statementsOfFunction(resources, fn(name)).filter((s) => JSON.stringify(s.Resource).includes(changesId) && actionsOf(s).includes('sqs:ReceiveMessage'));
      expect(receive, name).toEqual([]);
    }
    const consumer = 'arn:aws:iam::111122223333:role/booking-service';
    const { template: withConsumer } = synthConnector({ producerPrincipalArn: consumer });
    const consumerId = Object.keys(withConsumer.findResources('AWS::SQS::Queue')).find((id) => id.startsWith('HostChanges') && !id.includes('DeadLetter'))!;
    withConsumer.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: consumerId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { AWS: consumer }, Action: Match.arrayWith(['sqs:DeleteMessage', 'sqs:ReceiveMessage']), Resource: { 'Fn::GetAtt': [consumerId, 'Arn'] } }),
        ]),
      },
    });
    const policies = JSON.stringify(withConsumer.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: consumerId }] } }));
    expect(policies).not.toContain('sqs:SendMessage');
  });

  it('offers grantSendBookingEvents for a principal defined in CDK', () => {
    const { stack: other } = createConnectorApp({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const role = new iam.Role(other, 'BookingService', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const grant = other.grantSendBookingEvents(role);
    expect(grant.success).toBe(true);
    const policy = other.resolve((role.node.tryFindChild('DefaultPolicy') as iam.Policy).document);
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: other.resolve(other.bookingSync.queue.queueArn),
      },
    ]);
  });
});

describe('data', () => {
  it('is an on-demand table with pk/sk, TTL, PITR and encryption, retained by default', () => {
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'pending',
        KeySchema: [
          { AttributeName: 'pendingShard', KeyType: 'HASH' },
          { AttributeName: 'dueAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'unsettled',
        KeySchema: [
          { AttributeName: 'unsettledAccount', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['accountId', 'bookingId', 'seq', 'appliedSeq', 'failedSeq', 'generation', 'hostChange'] },
      },
      {
        IndexName: 'active',
        KeySchema: [
          { AttributeName: 'activeShard', KeyType: 'HASH' },
          { AttributeName: 'accountId', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ]);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('has a rotating KMS key with an alias, retained by default', () => {
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: `alias/${stack.stackName}/credentials`,
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('leaves the active index out with activeIndex=false (the first step of upgrading a table from before it: one index per table update)', () => {
    const { resources: r } = synthConnector({ activeIndex: 'false' });
    const indexes = ofType(r, 'AWS::DynamoDB::Table').flatMap(([, t]) => (t.Properties?.GlobalSecondaryIndexes ?? []) as Array<{ IndexName: string }>);
    expect(indexes.map((i) => i.IndexName)).toEqual(['pending', 'unsettled']);
    expect(() => synthConnector({ activeIndex: 'sometimes' })).toThrow(/activeIndex" must be true or false/);
  });

  it('is deleted with the stack when retainData is false', () => {
    const { resources: r } = synthConnector({ retainData: 'false' });
    for (const type of ['AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::Logs::LogGroup']) {
      for (const [, res] of ofType(r, type)) expect(res.DeletionPolicy, type).toBe('Delete');
    }
  });
});

describe('alarms and outputs', () => {
  it('alarms on DLQ messages, sync errors, rejected credentials and events refused for good', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AppleCalendarConnector',
      MetricName: 'EventRejected',
      Dimensions: [{ Name: 'service', Value: 'apple-calendar-sync' }],
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId('sync') } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AppleCalendarConnector',
      MetricName: 'CredentialsRejected',
      Dimensions: [{ Name: 'service', Value: 'apple-calendar-sync' }],
      Statistic: 'Sum',
    });
  });

  it('graphs the sync outcomes on a dashboard', () => {
    const [[, dashboard]] = ofType(resources, 'AWS::CloudWatch::Dashboard') as [[string, Resource]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['SyncOk', 'SyncRetried', 'EventRejected', 'SyncInvalid', 'CredentialsRejected', 'HandedToSweeper', 'SweepRequeued']) expect(body).toContain(metric);
  });

  it('notifies the alarm topic when one is configured', () => {
    const topic = 'arn:aws:sns:eu-west-1:111122223333:ops-alarms';
    const { resources: r } = synthConnector({ alarmTopicArn: topic });
    for (const [, alarm] of ofType(r, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
  });

  it('outputs the API URL and the queue URL and ARN', () => {
    template.hasOutput('ApiUrl', {});
    template.hasOutput('BookingEventsQueueUrl', { Value: { Ref: queueId } });
    template.hasOutput('BookingEventsQueueArn', { Value: { 'Fn::GetAtt': [queueId, 'Arn'] } });
  });
});
