// A reporter that ends the run with every skipped test and the reason it gave (`ctx.skip(reason)`):
// the default summary only counts them, and a skip that hides a missing tool must be seen.
import type { Reporter, TestModule, Vitest } from "vitest/node";

export default class SkipReasons implements Reporter {
  private vitest?: Vitest;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const module of testModules)
      for (const test of module.children.allTests("skipped")) {
        const result = test.result();
        const reason = result.state === "skipped" && result.note ? result.note : "no reason given";
        lines.push(`  ${module.relativeModuleId} > ${test.fullName}: ${reason}`);
      }
    if (lines.length === 0) return;
    const text = `\nSkipped, and why:\n${lines.join("\n")}\n`;
    if (this.vitest) this.vitest.logger.log(text);
    else process.stdout.write(text);
  }
}
