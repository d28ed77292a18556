import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // The end-to-end runs bring up hosts with dockerd; each takes up to a few minutes.
    hookTimeout: 30_000,
    // The JSON report lets CI print one plain closing line of counts.
    reporters: ["default", "json"],
    outputFile: { json: "test-results.json" },
  },
});
