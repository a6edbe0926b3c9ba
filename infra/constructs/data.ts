// The connector's data: one DynamoDB table (connections, connect attempts, held bookings,
// sync state) and the KMS key that encrypts the app-specific passwords before they are
// stored. Access is granted per action, never with a wildcard.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ACTIVE_INDEX, PENDING_INDEX, UNSETTLED_INDEX, UNSETTLED_PROJECTION } from '../../shared/store/table.js';

/** DynamoDB actions the functions may be given (item-level only: no Scan, no table admin). */
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchWriteItem' | 'BatchGetItem';

/** The encryption context key every Encrypt/Decrypt call carries: the account the secret belongs to. */
export const ENCRYPTION_CONTEXT_KEY = 'accountId';

export interface DataProps {
  /** Keep the table and the key when the stack is deleted (and protect the table from deletion). */
  readonly retainData: boolean;
  /** Create the `active` index (false only for the first step of an upgrade: settings.ts). */
  readonly activeIndex?: boolean;
}

export class Data extends Construct {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;
  readonly alias: kms.Alias;
  readonly appleIdMacKey: kms.Key;

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The secrets in it are already KMS-encrypted by the application with the key below;
      // the table itself uses DynamoDB's AWS managed key, so reading it needs no KMS grant
      // (details and disconnect get no KMS permission at all).
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.retainData,
      removalPolicy,
    });
    // Sparse: only booking changes not yet in the calendar carry these keys (the sweeper's list).
    this.table.addGlobalSecondaryIndex({
      indexName: PENDING_INDEX,
      partitionKey: { name: 'pendingShard', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'dueAt', type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // Sparse: an account's booking changes not in the calendar (pending or refused), keys and
    // counts only — its details and its reconnect never read all of its booking records.
    this.table.addGlobalSecondaryIndex({
      indexName: UNSETTLED_INDEX,
      partitionKey: { name: 'unsettledAccount', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: UNSETTLED_PROJECTION,
    });
    // Sparse: only active connections carry activeShard (host-change detection's list), keys only.
    if (props.activeIndex !== false) {
      this.table.addGlobalSecondaryIndex({
        indexName: ACTIVE_INDEX,
        partitionKey: { name: 'activeShard', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'accountId', type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }

    // Key policies name who may use each key; the account (its administrators, through IAM)
    // may only manage them. No `kms:*` for the account root, so an IAM policy granting
    // kms:Decrypt on "*" to some other principal decrypts nothing here.
    this.key = new kms.Key(this, 'CredentialsKey', {
      description: 'Encrypts the Apple app-specific passwords stored by the Apple Calendar connector',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      policy: adminOnlyKeyPolicy(),
      // Without the key the stored passwords cannot be read: it goes (after the waiting
      // period) only when the data goes too.
      removalPolicy,
      pendingWindow: Duration.days(30),
    });
    this.alias = this.key.addAlias(`alias/${Stack.of(this).stackName}/credentials`);

    // The rejected-login limit per Apple ID is kept under an HMAC of the address made with
    // this key, which never leaves KMS (connect may only kms:GenerateMac). HMAC keys have no
    // automatic rotation; losing it only resets the 15-minute limits.
    this.appleIdMacKey = new kms.Key(this, 'AppleIdMacKey', {
      description: 'Keys the Apple Calendar connector rate limit per Apple ID (HMAC of the address, never the address)',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      policy: adminOnlyKeyPolicy(),
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
  }

  /** Exactly these item actions on the table, nothing else. */
  grantTable(grantee: iam.IGrantable, actions: readonly TableAction[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: actions.map((action) => `dynamodb:${action}`),
      resourceArns: [this.table.tableArn],
    });
  }

  /** Query on the sparse active index only (the host-change scheduler). */
  grantActiveIndexQuery(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${ACTIVE_INDEX}`] });
  }

  /** Query on the sparse unsettled index only (details, and connect's requeue). */
  grantUnsettledIndexQuery(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${UNSETTLED_INDEX}`] });
  }

  /** Query on the sparse pending index only (the sweeper). */
  grantPendingIndexQuery(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${PENDING_INDEX}`] });
  }

  /** kms:Encrypt on the key, only with an `accountId` encryption context. */
  grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grantKey(grantee, 'kms:Encrypt');
  }

  /** kms:Decrypt on the key, only with an `accountId` encryption context (`who` names the key policy statement). */
  grantDecrypt(grantee: iam.IGrantable, who = 'Sync'): iam.Grant {
    return this.grantKey(grantee, 'kms:Decrypt', `DecryptBy${who}Only`);
  }

  /** kms:GenerateMac (HMAC-SHA-256) with the Apple ID key: the per-Apple-ID limit key. */
  grantAppleIdMac(grantee: iam.IGrantable): iam.Grant {
    const conditions = { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } };
    this.appleIdMacKey.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'GenerateMacByConnectOnly', principals: [grantee.grantPrincipal], actions: ['kms:GenerateMac'], resources: ['*'], conditions }),
    );
    return iam.Grant.addToPrincipal({ grantee, actions: ['kms:GenerateMac'], resourceArns: [this.appleIdMacKey.keyArn], conditions });
  }

  /**
   * The use is granted twice, on purpose: in the key policy (which alone decides, since the
   * account root may not use the key) and in the role's own policy (so IAM tooling shows it).
   */
  private grantKey(grantee: iam.IGrantable, action: 'kms:Encrypt' | 'kms:Decrypt', sid = 'EncryptByConnectOnly'): iam.Grant {
    const conditions = {
      // The context must be present ...
      Null: { [`kms:EncryptionContext:${ENCRYPTION_CONTEXT_KEY}`]: 'false' },
      // ... and be nothing but the account id.
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [ENCRYPTION_CONTEXT_KEY] },
    };
    this.key.addToResourcePolicy(new iam.PolicyStatement({ sid, principals: [grantee.grantPrincipal], actions: [action], resources: ['*'], conditions }));
    return iam.Grant.addToPrincipal({ grantee, actions: [action], resourceArns: [this.key.keyArn], conditions });
  }
}

/**
 * What the account's administrators may do with a key: manage it (describe, enable/disable,
 * rotate, change its policy, aliases, tags, schedule deletion) — never use it (no Encrypt,
 * Decrypt, ReEncrypt, GenerateDataKey, GenerateMac) and never CreateGrant (a grant would let
 * them use it). Explicit actions, no wildcard. Through the account root: any administrator
 * whose IAM policy allows these actions (CloudFormation's deployment role among them).
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListAliases',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListKeyRotations',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

function adminOnlyKeyPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({ sid: 'AdministratorsManageButNeverUse', principals: [new iam.AccountRootPrincipal()], actions: KEY_ADMIN_ACTIONS, resources: ['*'] }),
    ],
  });
}
