// Mutation testing (`npm run mutate`): every module of src/ is mutated, and the suite of
// vitest.mutate.config.ts must notice each change. Incremental: a run retests only the mutants
// whose code or covering tests changed since reports/stryker-incremental.json, which is committed.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  // The tests to run for a mutant come from per-test coverage; no second guess from imports.
  vitest: { configFile: "vitest.mutate.config.ts", related: false },
  mutate: [
    "src/**/*.ts",
    // The executable's entry point: it only hands process.argv to cli.ts and sets the exit code;
    // the tests that run it spawn the bundle, which holds no mutant.
    "!src/gre-gen.ts",
  ],
  // Each mutant runs only the tests that cover it (perTest, measured in the dry run).
  coverageAnalysis: "perTest",
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  // The machine is shared: one test process at a time.
  concurrency: 1,
  // The first run of every test, on a busy machine, may take minutes.
  dryRunTimeoutMinutes: 30,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
