// The project's own reporters, on the sample only (its name keeps it out of the real suite).
import project from "../../../vitest.config.js";

export default { ...project, test: { ...project.test, include: ["test/support/skip-sample/*.sample.ts"], outputFile: { json: process.env.SAMPLE_JSON } } };
