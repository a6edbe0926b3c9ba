// The dashboard's HTTP API: API Gateway v2 with a JWT authorizer on every route, CORS for
// the dashboard origin only, stage throttling and access logs, and the three functions
// behind `/integrations/apple-calendar` (connect, details, disconnect).
import { Duration, Lazy, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as iam from 'aws-cdk-lib/aws-iam';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ConnectorFunction, LOG_RETENTION } from './connector-function.js';
import type { Data } from './data.js';

export const ROUTE_PATH = '/integrations/apple-calendar';
export const BUSY_PATH = '/integrations/apple-calendar/busy';
/** The booking service's route (IAM): busy times of any account, without the host's token. */
export const INTERNAL_BUSY_PATH = '/internal/accounts/{accountId}/apple-calendar/busy';

export interface ApiProps {
  readonly data: Data;
  readonly jwtIssuer: string;
  readonly jwtAudience: readonly string[];
  readonly dashboardOrigin: string;
  readonly caldavServerUrl: string;
  readonly retainLogs: boolean;
  /** Hosts that may receive the credentials (CALDAV_ALLOWED_HOSTS); default: from the server URL. */
  readonly caldavAllowedHosts?: readonly string[];
  /** Concurrency reserved for connect, which also caps it (0: none). @default 10 */
  readonly connectReservedConcurrency?: number;
  /** Steady-state requests per second for the whole stage. @default 50 */
  readonly throttleRateLimit?: number;
  /** Burst of requests for the whole stage. @default 100 */
  readonly throttleBurstLimit?: number;
  /** IAM role ARN of the booking service: may call the internal busy route (execute-api:Invoke). */
  readonly busyReaderRoleArn?: string;
}

/**
 * Per-route throttles (requests per second, burst) on top of the stage's: connect talks to
 * iCloud and is the expensive one, so one caller can't use up the stage for everyone, nor
 * make our egress look like an attack to iCloud. Not per user: per account and per Apple ID
 * the connect limits in the application apply.
 */
export const ROUTE_THROTTLES: Record<string, { rateLimit: number; burstLimit: number }> = {
  [`POST ${ROUTE_PATH}`]: { rateLimit: 5, burstLimit: 10 },
  [`GET ${ROUTE_PATH}`]: { rateLimit: 25, burstLimit: 50 },
  [`DELETE ${ROUTE_PATH}`]: { rateLimit: 5, burstLimit: 10 },
  [`PATCH ${ROUTE_PATH}`]: { rateLimit: 5, burstLimit: 10 },
  [`GET ${ROUTE_PATH}/busy`]: { rateLimit: 25, burstLimit: 50 },
  // The booking service asks for every slot it offers: the most of any route, still under the stage.
  ['GET /internal/accounts/{accountId}/apple-calendar/busy']: { rateLimit: 40, burstLimit: 80 },
};

export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly connect: ConnectorFunction;
  readonly details: ConnectorFunction;
  readonly disconnect: ConnectorFunction;
  readonly busy: ConnectorFunction;
  readonly busyInternal: ConnectorFunction;
  readonly chooseCalendars: ConnectorFunction;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { data } = props;
    const common = { TABLE_NAME: data.table.tableName };

    // Connect logs in to the CalDAV server and discovers the calendar (several requests,
    // each with its own 10 s limit): it gets most of API Gateway's 30 s, the others need
    // only DynamoDB.
    this.connect = new ConnectorFunction(this, 'Connect', {
      name: 'connect',
      description: 'POST /integrations/apple-calendar: checks the Apple ID with CalDAV and stores it',
      timeout: Duration.seconds(28),
      serviceName: 'apple-calendar-connect',
      retainLogs: props.retainLogs,
      environment: {
        ...common,
        KMS_KEY_ID: data.key.keyArn,
        APPLE_ID_MAC_KEY_ID: data.appleIdMacKey.keyArn,
        CALDAV_SERVER_URL: props.caldavServerUrl,
        ...(props.caldavAllowedHosts?.length ? { CALDAV_ALLOWED_HOSTS: props.caldavAllowedHosts.join(',') } : {}),
      },
      // Reserved, so it always has room, and capped, so a flood of connects can't starve
      // details, disconnect and sync of the account's concurrency.
      reservedConcurrentExecutions: props.connectReservedConcurrency ?? 10,
    });
    data.grantTable(this.connect.role, ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query']);
    // The changes to requeue after a reconnect, and the counts it answers with.
    data.grantUnsettledIndexQuery(this.connect.role);
    data.grantEncrypt(this.connect.role);
    data.grantAppleIdMac(this.connect.role);

    this.details = new ConnectorFunction(this, 'Details', {
      name: 'details',
      description: 'GET /integrations/apple-calendar: the connection status',
      timeout: Duration.seconds(15),
      serviceName: 'apple-calendar-details',
      retainLogs: props.retainLogs,
      environment: common,
    });
    // The connection (GetItem) and the counts of its booking changes not yet written (the sparse unsettled index).
    data.grantTable(this.details.role, ['GetItem']);
    data.grantUnsettledIndexQuery(this.details.role);

    this.disconnect = new ConnectorFunction(this, 'Disconnect', {
      name: 'disconnect',
      description: 'DELETE /integrations/apple-calendar: deletes the stored credentials and held bookings',
      timeout: Duration.seconds(15),
      serviceName: 'apple-calendar-disconnect',
      retainLogs: props.retainLogs,
      environment: common,
    });
    data.grantTable(this.disconnect.role, ['Query', 'DeleteItem', 'BatchWriteItem']);

    // Busy times read the calendars with the stored password: they may decrypt it (same
    // encryption-context condition as sync), and keep their cache in the table.
    const busyFunction = (id: string, name: 'busy' | 'busy-internal', description: string) => {
      const fn = new ConnectorFunction(this, id, {
        name,
        description,
        timeout: Duration.seconds(28),
        serviceName: `apple-calendar-${name}`,
        retainLogs: props.retainLogs,
        // The same trusted hosts as connect and sync (without CALDAV_ALLOWED_HOSTS, derived from CALDAV_SERVER_URL).
        environment: {
          ...common,
          KMS_KEY_ID: data.key.keyArn,
          CALDAV_SERVER_URL: props.caldavServerUrl,
          ...(props.caldavAllowedHosts?.length ? { CALDAV_ALLOWED_HOSTS: props.caldavAllowedHosts.join(',') } : {}),
          ...(name === 'busy-internal' ? { BUSY_READER_ROLE_ARNS: Lazy.string({ produce: () => this.busyReaders.join(',') }) } : {}),
        },
      });
      data.grantTable(fn.role, ['GetItem', 'PutItem', 'UpdateItem', 'Query', 'BatchWriteItem']);
      data.grantDecrypt(fn.role, fn.node.id);
      return fn;
    };
    this.busy = busyFunction('Busy', 'busy', 'GET /integrations/apple-calendar/busy: busy times for the dashboard');
    this.busyInternal = busyFunction('BusyInternal', 'busy-internal', 'GET /internal/accounts/{accountId}/apple-calendar/busy: busy times for the booking service (IAM)');

    this.chooseCalendars = new ConnectorFunction(this, 'ChooseCalendars', {
      name: 'choose-calendars',
      description: 'PATCH /integrations/apple-calendar: the calendars checked for conflicts',
      timeout: Duration.seconds(15),
      serviceName: 'apple-calendar-choose-calendars',
      retainLogs: props.retainLogs,
      environment: common,
    });
    // The calendar list (GetItem, UpdateItem) and, for the details it answers with, the counts of booking changes not yet written (Query).
    data.grantTable(this.chooseCalendars.role, ['GetItem', 'UpdateItem', 'Query']);
    data.grantUnsettledIndexQuery(this.chooseCalendars.role);

    const authorizer = new HttpJwtAuthorizer('DashboardJwt', props.jwtIssuer, {
      authorizerName: 'dashboard-jwt',
      jwtAudience: [...props.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-api`,
      description: 'Apple Calendar connector: connect, details and disconnect for the dashboard',
      // Every route gets the JWT authorizer unless it names another one; none does.
      defaultAuthorizer: authorizer,
      corsPreflight: {
        allowOrigins: [props.dashboardOrigin],
        allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.PATCH, apigw.CorsHttpMethod.DELETE],
        allowHeaders: ['authorization', 'content-type'],
        allowCredentials: false,
        maxAge: Duration.hours(1),
      },
      createDefaultStage: false,
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: LOG_RETENTION,
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttleRateLimit ?? 50,
        burstLimit: props.throttleBurstLimit ?? 100,
      },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        // No headers, no body: nothing here can carry the password or the token.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            routeKey: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            sub: '$context.authorizer.claims.sub',
          }),
        ),
      },
    });

    const routes: Array<[apigw.HttpMethod, ConnectorFunction, string]> = [
      [apigw.HttpMethod.POST, this.connect, ROUTE_PATH],
      [apigw.HttpMethod.GET, this.details, ROUTE_PATH],
      [apigw.HttpMethod.DELETE, this.disconnect, ROUTE_PATH],
      [apigw.HttpMethod.PATCH, this.chooseCalendars, ROUTE_PATH],
      [apigw.HttpMethod.GET, this.busy, BUSY_PATH],
    ];
    const stageResource = this.stage.node.defaultChild as apigw.CfnStage;
    // RouteSettings is plain JSON to CloudFormation: its keys are spelled as CloudFormation spells them.
    stageResource.routeSettings = Object.fromEntries(
      Object.entries(ROUTE_THROTTLES).map(([routeKey, t]) => [routeKey, { ThrottlingRateLimit: t.rateLimit, ThrottlingBurstLimit: t.burstLimit }]),
    );
    for (const [method, fn, path] of routes) {
      const [route] = this.httpApi.addRoutes({
        path,
        methods: [method],
        authorizer,
        integration: new HttpLambdaIntegration(`${fn.node.id}Integration`, fn.function, {
          timeout: Duration.seconds(29),
        }),
      });
      // Route settings name the route: it must exist before the stage is updated.
      stageResource.node.addDependency(route!);
    }

    // The booking service signs its requests (SigV4); API Gateway checks its IAM permission.
    const [internalRoute] = this.httpApi.addRoutes({
      path: INTERNAL_BUSY_PATH,
      methods: [apigw.HttpMethod.GET],
      authorizer: new HttpIamAuthorizer(),
      integration: new HttpLambdaIntegration('BusyInternalIntegration', this.busyInternal.function, { timeout: Duration.seconds(29) }),
    });
    this.internalBusyRoute = internalRoute!;
    stageResource.node.addDependency(internalRoute!);
    if (props.busyReaderRoleArn) {
      // An HTTP API has no resource policy: the permission goes on the role (same account).
      const bookingService = iam.Role.fromRoleArn(this, 'BookingServiceRole', props.busyReaderRoleArn);
      this.grantReadBusy(bookingService);
      const apiId = Stack.of(this).getLogicalId(this.httpApi.node.defaultChild as CfnElement);
      Validations.of(bookingService).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/*/GET/internal/accounts/*/apple-calendar/busy]`,
        reason:
          'execute-api:Invoke on the one internal busy route: the wildcards stand for the stage and the {accountId} path parameter ' +
          '(the booking service reads busy times of any host, without the host token).',
      });
    }
  }

  readonly internalBusyRoute: apigw.HttpRoute;
  /** The roles busy-internal accepts (BUSY_READER_ROLE_ARNS): only those granted here, not any IAM caller. */
  private readonly busyReaders: string[] = [];

  /**
   * execute-api:Invoke on the internal busy route, and nothing else of the API (the route's
   * own grantInvoke would allow everything under /internal/accounts/*); busy-internal then
   * accepts that role's sessions. The grantee must be a role.
   */
  grantReadBusy(grantee: iam.IGrantable): iam.Grant {
    const roleArn = (grantee as Partial<iam.IRole>).roleArn;
    if (!roleArn) throw new Error('grantReadBusy: the booking service must be an IAM role');
    this.busyReaders.push(roleArn);
    const arn = Stack.of(this).formatArn({ service: 'execute-api', resource: this.httpApi.apiId, resourceName: '*/GET/internal/accounts/*/apple-calendar/busy' });
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [arn] });
  }

  /** The invoke URL of the `$default` stage (ends with `/`). */
  get url(): string {
    return this.stage.url;
  }
}
