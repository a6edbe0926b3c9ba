// Builds the connector app in-process the way `cdk synth` does (cdk.json context, cdk-nag
// plugin), without bundling the functions, and gives typed access to the template.
import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { createConnectorApp } from '../../infra/connector-app.js';

export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

export type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, any>; Principal?: unknown };

export function synthConnector(context: Record<string, unknown> = {}) {
  const { app, stack } = createConnectorApp({
    // Skip esbuild here (the CLI synth test builds the real bundles).
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
  });
  const template = Template.fromStack(stack);
  return { app, stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
}

export function ofType(resources: Record<string, Resource>, type: string): Array<[string, Resource]> {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Function logical id → POWERTOOLS_SERVICE_NAME short name (connect, details, disconnect, sync). */
export function functionsByName(resources: Record<string, Resource>): Record<string, [string, Resource]> {
  const out: Record<string, [string, Resource]> = {};
  for (const [id, fn] of ofType(resources, 'AWS::Lambda::Function')) {
    const service: string = fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME;
    out[service.replace('apple-calendar-', '')] = [id, fn];
  }
  return out;
}

/** Every identity-policy statement attached to the function's execution role (inline policies included). */
export function statementsOfFunction(resources: Record<string, Resource>, fn: Resource): Statement[] {
  const roleId: string = fn.Properties.Role['Fn::GetAtt'][0];
  const role = resources[roleId]!;
  const inline: Statement[] = (role.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
  const attached = ofType(resources, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles ?? []).some((r: any) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
  return [...inline, ...attached];
}
