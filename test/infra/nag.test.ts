// cdk-nag (AWS Solutions rules): no unacknowledged finding, every acknowledgement has a
// reason, and the list of acknowledgements only grows through a reviewed change here.
import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import cdkNag from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { createConnectorApp } from '../../infra/connector-app.js';
import { CDK_JSON_CONTEXT } from './helpers.js';

const build = () => createConnectorApp({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });

function describeViolations(violations: readonly { ruleName: string; violatingResources: readonly { constructPath?: string }[] }[]) {
  return violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );
}

describe('cdk-nag AwsSolutionsChecks', () => {
  const { app } = build();
  const report = new cdkNag.AwsSolutionsChecks().validateScope(app);

  it('reports no unacknowledged error', () => {
    expect(describeViolations(report.violations.filter((v) => v.severity === 'error'))).toEqual([]);
  });

  it('reports no unacknowledged warning either', () => {
    expect(describeViolations(report.violations.filter((v) => v.severity !== 'error'))).toEqual([]);
  });

  it('acknowledges only the reviewed findings, each with a reason', () => {
    const acks = acknowledgements(app);
    for (const ack of acks) expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
    const summary = [...new Set(acks.map((a) => `${a.id.replace(/^Annotation::/i, '')} @ ${a.path.split('/').slice(-1)[0]}`))].sort();
    expect(summary).toEqual(['AwsSolutions-IAM5[Resource::*] @ Role', 'AwsSolutions-L1 @ Function']);
    // One of each per function: nine functions.
    expect(acks).toHaveLength(18);
  });

  it('is part of the app: a new finding fails the synth', () => {
    const { app: bad, stack } = build();
    new sqs.Queue(stack, 'UnencryptedQueueWithoutDlq', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => bad.synth()).toThrow(/AwsSolutions-SQS/);
  });
});
