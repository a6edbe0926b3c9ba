// How the Lambda functions are bundled: the one place that says it. The CDK stack builds
// its NodejsFunction bundles from `esbuildOptions`, and anything else that needs the same
// bundles (the benchmark) can call esbuild with it directly:
//
//   await esbuild.build({ ...esbuildOptions, entryPoints: [entryPath('sync')], outfile: 'out/sync.mjs' });
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The repository root (where package.json and package-lock.json are). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The handlers, each exporting `handler`. */
export const FUNCTION_ENTRIES = {
  connect: 'functions/connect.ts',
  details: 'functions/details.ts',
  disconnect: 'functions/disconnect.ts',
  sync: 'functions/sync.ts',
  sweep: 'functions/sweep.ts',
  'host-checks': 'functions/host-checks.ts',
  busy: 'functions/busy.ts',
  'busy-internal': 'functions/busy-internal.ts',
  'choose-calendars': 'functions/choose-calendars.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

export function entryPath(name: FunctionName): string {
  return fileURLToPath(new URL(`../${FUNCTION_ENTRIES[name]}`, import.meta.url));
}

// ESM bundles can still contain CommonJS dependencies that call `require`: give them one.
// (The import is aliased so it cannot clash with a bundled module's own `createRequire`.)
const ESM_REQUIRE_BANNER =
  "import { createRequire as __connectorCreateRequire } from 'module'; const require = __connectorCreateRequire(import.meta.url);";

/**
 * esbuild options for every function: one self-contained ESM file for Node 22. Everything
 * is bundled, the AWS SDK included (no `external`), so the deployed code runs exactly the
 * dependency versions in package-lock.json rather than whatever the Lambda runtime ships.
 * The source map is external and without sources (`index.mjs.map`, linked): it costs nothing
 * at init as long as the runtime does not load it. The functions therefore run without
 * `--enable-source-maps` (infra/constructs/connector-function.ts), which would parse it at
 * every cold start; it is there to decode a minified stack trace offline.
 */
export const esbuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  banner: { js: ESM_REQUIRE_BANNER },
  external: [],
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** The same options in the form `NodejsFunction` takes (local esbuild, never Docker). */
export function nodejsBundling(): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: esbuildOptions.target,
    mainFields: [...esbuildOptions.mainFields],
    minify: esbuildOptions.minify,
    sourceMap: esbuildOptions.sourcemap,
    sourceMapMode: SourceMapMode.DEFAULT, // index.mjs.map beside index.mjs, linked from it
    sourcesContent: esbuildOptions.sourcesContent,
    banner: esbuildOptions.banner.js,
    externalModules: [...esbuildOptions.external],
    bundleAwsSDK: true,
    forceDockerBundling: false,
  };
}
