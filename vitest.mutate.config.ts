// The suite as mutation testing runs it (stryker.config.mjs): every test that runs gre-gen's code
// in this process, including the static real-consumer checks. Left out, as they only run the
// bundled executable or npm, which never hold a mutant, yet would cost every run their minutes:
// the e2e and namespace tests (hosts and network namespaces), integrity.test.ts (crashes and
// concurrent builds of the executable: over two minutes), install.test.ts (npm pack and install)
// and skip-reasons.test.ts (a nested vitest run).
import { relative } from "node:path";
import { defineConfig, mergeConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import base from "./vitest.config.js";

/**
 * Quick files that kill most mutants first: a run stops at the first failing test, so a killed
 * mutant rarely waits for the slow real-consumer and fuzz files (vitest would start with those).
 */
const ORDER = ["errors", "codes", "golden", "edges", "impact", "readonly", "lockfile", "allocation", "underlay", "commands", "cli", "workflow", "safety", "injection", "guards", "no-exec", "firewall", "fuzz", "consumers"];
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
      exclude: ["test/e2e/**", "test/namespaces.test.ts", "test/integrity.test.ts", "test/install.test.ts", "test/skip-reasons.test.ts", "node_modules/**"],
      sequence: { sequencer: QuickFirst },
      // Each surviving mutant reruns every test that covers it: smaller random samples keep a
      // run shorter (the full samples run in `npm test`).
      env: { FUZZ_RUNS: "600", CONSUMER_SAMPLES: "1" },
    },
  }),
);
