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
      // Each mutant reruns the fuzz tests that cover it: a smaller sample keeps a run in minutes.
      env: { FUZZ_RUNS: "400" },
    },
  }),
);
