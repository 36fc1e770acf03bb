/** End-to-end suite: fresh Nx workspaces, real processes, a real Docker engine, registry and cluster. */
module.exports = {
  displayName: 'turbolift-e2e',
  preset: '../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/tests/**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  globalSetup: '<rootDir>/support/global-setup.ts',
  globalTeardown: '<rootDir>/support/global-teardown.ts',
  testTimeout: 15 * 60 * 1000,
  maxWorkers: 1,
};
