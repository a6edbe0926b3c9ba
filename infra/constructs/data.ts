// The connector's data: one DynamoDB table (connections, connect attempts, held bookings,
// sync state) and the KMS key that encrypts the app-specific passwords before they are
// stored. Access is granted per action, never with a wildcard.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PENDING_INDEX } from '../../shared/store/table.js';

/** DynamoDB actions the functions may be given (item-level only: no Scan, no table admin). */
export type TableAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query' | 'BatchWriteItem';

/** The encryption context key every Encrypt/Decrypt call carries: the account the secret belongs to. */
export const ENCRYPTION_CONTEXT_KEY = 'accountId';

export interface DataProps {
  /** Keep the table and the key when the stack is deleted (and protect the table from deletion). */
  readonly retainData: boolean;
}

export class Data extends Construct {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;
  readonly alias: kms.Alias;

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

    this.key = new kms.Key(this, 'CredentialsKey', {
      description: 'Encrypts the Apple app-specific passwords stored by the Apple Calendar connector',
      enableKeyRotation: true,
      rotationPeriod: Duration.days(365),
      // Without the key the stored passwords cannot be read: it goes (after the waiting
      // period) only when the data goes too.
      removalPolicy,
      pendingWindow: Duration.days(30),
    });
    this.alias = this.key.addAlias(`alias/${Stack.of(this).stackName}/credentials`);
  }

  /** Exactly these item actions on the table, nothing else. */
  grantTable(grantee: iam.IGrantable, actions: readonly TableAction[]): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: actions.map((action) => `dynamodb:${action}`),
      resourceArns: [this.table.tableArn],
    });
  }

  /** Query on the sparse pending index only (the sweeper). */
  grantPendingIndexQuery(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${PENDING_INDEX}`] });
  }

  /** kms:Encrypt on the key, only with an `accountId` encryption context. */
  grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grantKey(grantee, 'kms:Encrypt');
  }

  /** kms:Decrypt on the key, only with an `accountId` encryption context. */
  grantDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grantKey(grantee, 'kms:Decrypt');
  }

  private grantKey(grantee: iam.IGrantable, action: 'kms:Encrypt' | 'kms:Decrypt'): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [action],
      resourceArns: [this.key.keyArn],
      conditions: {
        // The context must be present ...
        Null: { [`kms:EncryptionContext:${ENCRYPTION_CONTEXT_KEY}`]: 'false' },
        // ... and be nothing but the account id.
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [ENCRYPTION_CONTEXT_KEY] },
      },
    });
  }
}
