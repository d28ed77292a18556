// Run only by test/skip-reasons.test.ts: one test skipped with a reason, one without, one that
// passes without a check for a missing tool, one passing.
import { expect, it } from "vitest";
import { hasTool } from "../../helpers.js";

it("needs a tool that is missing", (context) => {
  context.skip("needs frobnicate; .ci/run installs it");
});

it.skip("is switched off", () => {});

it("checks what it can", () => {
  expect(hasTool("frobnicate-not-installed")).toBe(false);
});

it("passes", () => {
  expect(1 + 1).toBe(2);
});
