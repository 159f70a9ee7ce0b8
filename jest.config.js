/** One jest run for the whole monorepo; tests live beside the code as *.unit|int|e2e.test.ts. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services'],
  testMatch: ['**/src/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  // Workspace packages are imported from source so tests never depend on a stale dist/.
  moduleNameMapper: {
    '^@allsource/core$': '<rootDir>/services/core/src/index.ts',
    '^@allsource/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
