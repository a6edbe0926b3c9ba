// CDK entry point (cdk.json "app"): `npx cdk synth` / `npx cdk deploy`.
import { createConnectorApp } from './connector-app.js';

createConnectorApp();
