import type { Config } from 'jest';

// One jest project per package. ts-jest only transpiles (isolatedModules):
// `npm test` type-checks sources and tests with tsc before jest runs.
const project = (name: string): Config => ({
  displayName: name,
  rootDir: `<rootDir>/packages/${name}`,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.test.json' }] },
  moduleNameMapper: { '^@viworks/protocol$': '<rootDir>/../protocol/src/index.ts' },
});

const config: Config = {
  projects: [project('protocol'), project('agent'), project('collector')].map((p) => ({
    ...p,
    rootDir: p.rootDir!.replace('<rootDir>/', `${__dirname}/`),
  })),
  globalSetup: '<rootDir>/test/globalSetup.ts',
  globalTeardown: '<rootDir>/test/globalTeardown.ts',
  // Generous: PGlite start-up (WASM) and first samples are slow on a busy 2-core machine.
  testTimeout: 60_000,
  // A suite whose setup failed can leave a server or database handle open;
  // jest would then print its summary and wait forever, turning a red CI run
  // into a 90-minute time-out. Exit once the results are in.
  forceExit: true,
};

export default config;
