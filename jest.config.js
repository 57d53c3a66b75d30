// Three projects (docs/conventions.md "Tests"): unit next to the code, integration and e2e
// under test/ against the real services on 127.0.0.1.
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testTimeout: 120000,
  moduleNameMapper: {
    '^src/(.*)$': '<rootDir>/src/$1',
    '^tools/(.*)$': '<rootDir>/tools/$1',
    '^test/(.*)$': '<rootDir>/test/$1',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
};

module.exports = {
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/tools/**/*.spec.ts',
        '<rootDir>/test/unit/**/*.spec.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
    },
  ],
};
