// One Lambda function of the connector with the defaults every function shares: bundled
// locally by esbuild (infra/bundling.ts), Node 22 on arm64, X-Ray tracing, its own log
// group with a retention period, and its own role that starts with no permission at all
// (no AWS managed policy): each construct that uses the function grants what it needs.
import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { entryPath, nodejsBundling, PROJECT_ROOT, type FunctionName } from '../bundling.js';

export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

export interface ConnectorFunctionProps {
  /** Which handler (functions/<name>.ts). */
  readonly name: FunctionName;
  readonly description: string;
  readonly timeout: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Variables on top of the ones every function gets (TABLE_NAME is given by the caller too). */
  readonly environment: Record<string, string>;
  /** Powertools service name (also the `service` dimension of its metrics). */
  readonly serviceName: string;
  /** Keep the log group when the stack is deleted. */
  readonly retainLogs: boolean;
  /** Concurrency reserved for (and capping) this function. @default none */
  readonly reservedConcurrentExecutions?: number;
}

export class ConnectorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ConnectorFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: LOG_RETENTION,
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    // Only its own log group; no logs:CreateLogGroup (the group exists, made above).
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: entryPath(props.name),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: nodejsBundling(),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        LOG_LEVEL: 'INFO',
        CIPHER: 'kms',
        // No NODE_OPTIONS=--enable-source-maps: it parses the ~0.8–1 MB map at every cold start
        // (+10–35 ms per function, npm run bench). The map still ships beside index.mjs
        // (infra/bundling.ts) to decode a minified stack trace offline; the handlers log error
        // names and messages, not stacks.
        ...props.environment,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime this connector is built and tested for (the bundles target node22); ' +
        'moving to a newer runtime is a deliberate, tested change rather than an automatic one.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the X-Ray statement added by `tracing: ACTIVE` (xray:PutTraceSegments, xray:PutTelemetryRecords) ' +
        'uses Resource "*": X-Ray does not support resource-level permissions for these actions.',
    });
  }
}
