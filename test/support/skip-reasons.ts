// A reporter that ends the run with every skipped test and the reason it gave (`ctx.skip(reason)`),
// and every check a passing test left out for a missing tool (`hasTool` in helpers.ts): the
// default summary only counts skips, and a check not made must be seen.
import type { UserConsoleLog } from "vitest";
import type { Reporter, TestModule, Vitest } from "vitest/node";

/** How helpers.ts's hasTool says a part of a test was not checked. */
const NOT_CHECKED = "not checked here: ";

export default class SkipReasons implements Reporter {
  private vitest?: Vitest;
  private notChecked: string[] = [];

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    if (!log.content.startsWith(NOT_CHECKED)) return;
    const test = log.taskId === undefined ? undefined : this.vitest?.state.getReportedEntityById(log.taskId);
    const where = test?.type === "test" ? `${test.module.relativeModuleId} > ${test.fullName}` : "a test";
    this.notChecked.push(`  ${where}: ${log.content.slice(NOT_CHECKED.length).trimEnd()}`);
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const module of testModules)
      for (const test of module.children.allTests("skipped")) {
        const result = test.result();
        const reason = result.state === "skipped" && result.note ? result.note : "no reason given";
        skipped.push(`  ${module.relativeModuleId} > ${test.fullName}: ${reason}`);
      }
    let text = "";
    if (skipped.length > 0) text += `\nSkipped, and why:\n${skipped.join("\n")}\n`;
    if (this.notChecked.length > 0) text += `\nPassed without a check, and why:\n${this.notChecked.join("\n")}\n`;
    this.notChecked = [];
    if (text === "") return;
    if (this.vitest) this.vitest.logger.log(text);
    else process.stdout.write(text);
  }
}
