// Builds the CDK app: the connector stack from the CDK context settings, checked by
// cdk-nag's AWS Solutions rules (an unacknowledged error fails the synth).
import { App, Tags, Validations, type AppProps } from 'aws-cdk-lib';
import cdkNag from 'cdk-nag';
import { ConnectorStack } from './connector-stack.js';
import { settingsFromContext } from './settings.js';

export const DEFAULT_STACK_NAME = 'AppleCalendarConnector';

export function createConnectorApp(props: AppProps = {}): { app: App; stack: ConnectorStack } {
  const app = new App(props);
  const stackName = app.node.tryGetContext('stackName') ?? DEFAULT_STACK_NAME;
  const stack = new ConnectorStack(app, stackName, { settings: settingsFromContext(app.node) });
  Tags.of(stack).add('app', 'apple-calendar-connector');
  Validations.of(app).addPlugins(new cdkNag.AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
