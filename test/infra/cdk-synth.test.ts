// `npx cdk synth` as a user runs it, with no AWS account: the CLI runs the app from
// cdk.json, esbuild builds the four bundles locally, and cdk-nag passes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STACK_NAME } from '../../infra/connector-app.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The environment of a machine without AWS credentials or network access to AWS. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE)$/.test(name)) env[name] = value;
  }
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: '1',
  };
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, env: offlineEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

describe('cdk synth (CLI, offline)', () => {
  let outdir: string;
  let result: Awaited<ReturnType<typeof run>>;
  let template: { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'connector-cdk-out-'));
    result = await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', outdir]);
    const templatePath = join(outdir, `${DEFAULT_STACK_NAME}.template.json`);
    if (existsSync(templatePath)) template = JSON.parse(readFileSync(templatePath, 'utf8'));
  }, 240_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it('succeeds and writes the stack template', () => {
    expect(result.code, result.output).toBe(0);
    expect(template.Resources).toBeDefined();
    console.info(`cdk synth took ${(result.ms / 1000).toFixed(1)} s`);
  });

  it('builds one ESM bundle with a source map per function', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(9);
    const assetDirs = new Set(functions.map((f) => f.Metadata?.['aws:asset:path']));
    expect(assetDirs.size).toBe(9);
    for (const dir of assetDirs) {
      const bundle = join(outdir, String(dir), 'index.mjs');
      expect(existsSync(bundle), bundle).toBe(true);
      expect(existsSync(`${bundle}.map`), `${bundle}.map`).toBe(true);
      const code = readFileSync(bundle, 'utf8');
      expect(code.startsWith('import { createRequire as')).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\}|export\s*\{\s*handler\b/);
      expect(code).toContain('//# sourceMappingURL=index.mjs.map');
    }
  });

  it('has a clean validation report (cdk-nag)', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    const violations = (report.pluginReports ?? []).flatMap((p: { violations?: unknown[] }) => p.violations ?? []);
    expect(violations).toEqual([]);
  });
});
