// The KMS key policies, per-route throttles and reserved concurrency: what a security
// reviewer checks. Only sync may decrypt and only connect encrypt (with the account's
// encryption context); administrators manage the keys but can't use them.
import { describe, expect, it } from 'vitest';
import { KEY_ADMIN_ACTIONS } from '../../infra/constructs/data.js';
import { actionsOf, functionsByName, ofType, statementsOfFunction, synthConnector, type Resource, type Statement } from './helpers.js';

const { resources } = synthConnector();
const fns = functionsByName(resources);
const fn = (name: string): Resource => fns[name]![1];
const roleArnOf = (name: string) => ({ 'Fn::GetAtt': [fn(name).Properties.Role['Fn::GetAtt'][0], 'Arn'] });
const keys = ofType(resources, 'AWS::KMS::Key');
const [credentialsKeyId, credentialsKey] = keys.find(([, k]) => !k.Properties.KeySpec)!;
const [macKeyId, macKey] = keys.find(([, k]) => k.Properties.KeySpec === 'HMAC_256')!;
const statements = (key: Resource): Statement[] => key.Properties.KeyPolicy.Statement;
const bySid = (key: Resource, sid: string) => statements(key).find((s: any) => s.Sid === sid) as Statement & { Sid: string };

const USE_ACTIONS = /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|GenerateMac|VerifyMac|Sign|Verify|CreateGrant|\*)/;
const ENCRYPTION_CONTEXT = {
  Null: { 'kms:EncryptionContext:accountId': 'false' },
  'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['accountId'] },
};

describe('the credentials key policy', () => {
  it('has exactly these statements: administrators, connect encrypts, sync and the two busy reads decrypt', () => {
    expect(keys).toHaveLength(2);
    expect(statements(credentialsKey).map((s: any) => s.Sid).sort()).toEqual([
      'AdministratorsManageButNeverUse',
      'DecryptByBusyInternalOnly',
      'DecryptByBusyOnly',
      'DecryptBySyncOnly',
      'EncryptByConnectOnly',
    ]);
    for (const s of statements(credentialsKey)) expect(s.Effect).toBe('Allow');
  });

  it('lets administrators (the account, through IAM) manage but never use it: no kms:*, no CreateGrant', () => {
    const admin = bySid(credentialsKey, 'AdministratorsManageButNeverUse');
    expect(JSON.stringify(admin.Principal)).toMatch(/:root/);
    expect(actionsOf(admin).sort()).toEqual([...KEY_ADMIN_ACTIONS].sort());
    for (const action of actionsOf(admin)) {
      expect(action).not.toMatch(USE_ACTIONS);
      expect(action).not.toContain('*');
    }
    expect(admin.Condition).toBeUndefined();
  });

  it('lets only the roles that read calendars (sync, busy, busy-internal) decrypt, only with the account encryption context', () => {
    for (const [sid, role] of [
      ['DecryptBySyncOnly', 'sync'],
      ['DecryptByBusyOnly', 'busy'],
      ['DecryptByBusyInternalOnly', 'busy-internal'],
    ] as const) {
      const decrypt = bySid(credentialsKey, sid);
      expect(decrypt.Principal).toEqual({ AWS: roleArnOf(role) });
      expect(actionsOf(decrypt)).toEqual(['kms:Decrypt']);
      expect(decrypt.Condition).toEqual(ENCRYPTION_CONTEXT);
    }
  });

  it('lets only the connect role encrypt, only with the account encryption context', () => {
    const encrypt = bySid(credentialsKey, 'EncryptByConnectOnly');
    expect(encrypt.Principal).toEqual({ AWS: roleArnOf('connect') });
    expect(actionsOf(encrypt)).toEqual(['kms:Encrypt']);
    expect(encrypt.Condition).toEqual(ENCRYPTION_CONTEXT);
  });

  it('gives no other principal any use of the key', () => {
    const users = statements(credentialsKey).filter((s) => actionsOf(s).some((a) => USE_ACTIONS.test(a)));
    expect(users.map((s) => JSON.stringify(s.Principal)).sort()).toEqual(['connect', 'sync', 'busy', 'busy-internal'].map((r) => JSON.stringify({ AWS: roleArnOf(r) })).sort());
  });
});

describe('the Apple ID MAC key', () => {
  it('is an HMAC key whose only user is connect (GenerateMac, HMAC-SHA-256)', () => {
    expect(macKey.Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    expect(statements(macKey).map((s: any) => s.Sid).sort()).toEqual(['AdministratorsManageButNeverUse', 'GenerateMacByConnectOnly']);
    const mac = bySid(macKey, 'GenerateMacByConnectOnly');
    expect(mac.Principal).toEqual({ AWS: roleArnOf('connect') });
    expect(actionsOf(mac)).toEqual(['kms:GenerateMac']);
    expect(mac.Condition).toEqual({ StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } });
    expect(actionsOf(bySid(macKey, 'AdministratorsManageButNeverUse')).some((a) => USE_ACTIONS.test(a))).toBe(false);
  });

  it('is named to connect only', () => {
    expect(fn('connect').Properties.Environment.Variables.APPLE_ID_MAC_KEY_ID).toEqual({ 'Fn::GetAtt': [macKeyId, 'Arn'] });
    for (const name of ['details', 'disconnect', 'sync']) expect(fn(name).Properties.Environment.Variables.APPLE_ID_MAC_KEY_ID).toBeUndefined();
  });
});

describe('role grants', () => {
  it('each KMS action is on the key it is for, and no role has one it does not use', () => {
    const kmsOf = (name: string) =>
      statementsOfFunction(resources, fn(name))
        .filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')))
        .map((s) => [actionsOf(s).join(','), JSON.stringify(s.Resource)]);
    const arn = (id: string) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
    expect(kmsOf('connect').sort()).toEqual([['kms:Encrypt', arn(credentialsKeyId)], ['kms:GenerateMac', arn(macKeyId)]].sort());
    expect(kmsOf('sync')).toEqual([['kms:Decrypt', arn(credentialsKeyId)]]);
    expect(kmsOf('details')).toEqual([]);
    expect(kmsOf('disconnect')).toEqual([]);
  });

  it('sync has only the table actions it uses (BatchGetItem, GetItem, UpdateItem; Query and PutItem for host-change checks)', () => {
    const actions = statementsOfFunction(resources, fn('sync')).flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
    expect(actions.sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  });
});

describe('limits on the API', () => {
  it('throttles each route on the stage, connect the hardest, none above the stage', () => {
    const [[, stage]] = ofType(resources, 'AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    const settings = stage.Properties.RouteSettings as Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }>;
    expect(Object.keys(settings).sort()).toEqual([
      'DELETE /integrations/apple-calendar',
      'GET /integrations/apple-calendar',
      'GET /integrations/apple-calendar/busy',
      'GET /internal/accounts/{accountId}/apple-calendar/busy',
      'PATCH /integrations/apple-calendar',
      'POST /integrations/apple-calendar',
    ]);
    const stageRate = stage.Properties.DefaultRouteSettings.ThrottlingRateLimit;
    for (const s of Object.values(settings)) {
      expect(s.ThrottlingRateLimit).toBeGreaterThan(0);
      expect(s.ThrottlingRateLimit).toBeLessThan(stageRate);
      expect(s.ThrottlingBurstLimit).toBeGreaterThanOrEqual(s.ThrottlingRateLimit);
    }
    expect(settings['POST /integrations/apple-calendar']!.ThrottlingRateLimit).toBeLessThanOrEqual(5);
  });

  it('reserves (and caps) concurrency for connect only', () => {
    expect(fn('connect').Properties.ReservedConcurrentExecutions).toBe(10);
    for (const name of ['details', 'disconnect', 'sync']) expect(fn(name).Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('the stage depends on the routes its settings name', () => {
    const [[, stage]] = ofType(resources, 'AWS::ApiGatewayV2::Stage') as [[string, Resource & { DependsOn?: string[] }]];
    const routeIds = ofType(resources, 'AWS::ApiGatewayV2::Route').map(([id]) => id);
    expect(stage.DependsOn ?? []).toEqual(expect.arrayContaining(routeIds));
  });
});
