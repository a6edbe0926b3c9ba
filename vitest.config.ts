import { defineConfig } from 'vitest/config';

// The functions run on Node 22 (Lambda nodejs22.x), so the tests do too: `npm test` runs
// vitest with the `node` devDependency's binary (node_modules/.bin/node), whatever Node the
// machine has. Anything else would test another runtime than the one deployed.
const RUNTIME_MAJOR = 22;
if (Number(process.versions.node.split('.')[0]) !== RUNTIME_MAJOR) {
  throw new Error(`Tests run on Node ${RUNTIME_MAJOR} (the functions' runtime), not ${process.version}: use \`npm test\` (after \`npm ci\`).`);
}

// Integration suites start real CalDAV servers and emulators; the machine has 2 cores,
// so files run one or two at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_DEV: 'false' },
  },
});
