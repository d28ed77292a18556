// The suite as mutation testing runs it (stryker.config.mjs): every test that runs in this
// process, including the static real-consumer checks; not the ones that bring up network
// namespaces (they run the bundled executable, which never holds a mutant, for minutes each).
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.js";

export default mergeConfig(
  { ...base, test: { ...base.test, reporters: ["default"], outputFile: undefined } },
  defineConfig({
    test: {
      exclude: ["test/e2e/**", "test/namespaces.test.ts", "node_modules/**"],
      // Each surviving mutant reruns every test that covers it: smaller random samples keep a
      // run within the hour (the full samples run in `npm test`).
      env: { FUZZ_RUNS: "100", CONSUMER_SAMPLES: "1" },
    },
  }),
);
