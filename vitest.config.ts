import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // The end-to-end runs bring up hosts with dockerd; each takes up to a few minutes.
    hookTimeout: 30_000,
    // The JSON report lets CI print one plain closing line of counts; the last says why each
    // skipped test was skipped.
    reporters: ["default", "json", "./test/support/skip-reasons.ts"],
    outputFile: { json: "test-results.json" },
  },
});
