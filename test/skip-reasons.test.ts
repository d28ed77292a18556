// The summary a user sees after `npm test` names every skipped test and why it was skipped.
import { join } from "node:path";
import { expect, it } from "vitest";
import { ROOT, sh, tempDir } from "./helpers.js";

it("npm test's summary says why each skipped test was skipped, and which checks were left out", { timeout: 120_000 }, () => {
  const vitest = join(ROOT, "node_modules/vitest/vitest.mjs");
  const result = sh(process.execPath, [vitest, "run", "--config", "test/support/skip-sample/vitest.config.ts"], {
    cwd: ROOT,
    env: { SAMPLE_JSON: join(tempDir(), "results.json"), CI: "", NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  expect(result.code, result.output).toBe(0);
  expect(result.stdout).toMatch(/Tests\s+2 passed \| 2 skipped/);
  expect(result.stdout).toContain(
    "Skipped, and why:\n" +
      "  test/support/skip-sample/sample.sample.ts > needs a tool that is missing: needs frobnicate; .ci/run installs it\n" +
      "  test/support/skip-sample/sample.sample.ts > is switched off: no reason given\n" +
      "\nPassed without a check, and why:\n" +
      "  test/support/skip-sample/sample.sample.ts > checks what it can: frobnicate-not-installed is not installed (CI installs it)\n",
  );
});
