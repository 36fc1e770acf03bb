// Jest preset for the e2e project, as in Nx's own plugin e2e suites; unit tests run on vitest.
const nxPreset = require('@nx/jest/preset').default;

module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
};
