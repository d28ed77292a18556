// The suite as mutation testing runs it (stryker.config.mjs): every test that runs in this
// process, including the static real-consumer checks; not the ones that bring up network
// namespaces (they run the bundled executable, which never holds a mutant, for minutes each).
import { relative } from "node:path";
import { defineConfig, mergeConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import base from "./vitest.config.js";

/**
 * Quick files that kill most mutants first: a run stops at the first failing test, so a killed
 * mutant rarely waits for the slow real-consumer and fuzz files (vitest would start with those).
 */
const ORDER = ["errors", "codes", "golden", "edges", "impact", "readonly", "lockfile", "allocation", "commands", "cli", "workflow", "safety", "injection", "no-exec", "fuzz", "consumers"];
class QuickFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const name = relative("test", relative(process.cwd(), file.moduleId)).replace(/\.test\.ts$/, "");
      const index = ORDER.indexOf(name);
      return index === -1 ? ORDER.length : index;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default mergeConfig(
  { ...base, test: { ...base.test, reporters: ["default"], outputFile: undefined } },
  defineConfig({
    test: {
      exclude: ["test/e2e/**", "test/namespaces.test.ts", "node_modules/**"],
      sequence: { sequencer: QuickFirst },
      // Each surviving mutant reruns every test that covers it: smaller random samples keep a
      // run shorter (the full samples run in `npm test`).
      env: { FUZZ_RUNS: "600", CONSUMER_SAMPLES: "1" },
    },
  }),
);
