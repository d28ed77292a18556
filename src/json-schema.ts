/** The topology format as JSON Schema, generated from the zod model: one source of truth (SPEC §1). */
import * as z from "zod/mini";
import { topologySchema } from "./schema.js";

export const SCHEMA_FILE_NAME = "topology.schema.json";

export function topologyJsonSchema(): string {
  // "input": what a user may write, so keys with defaults are optional. Draft 7 is what
  // yaml-language-server and most editors read.
  const generated = z.toJSONSchema(topologySchema, { target: "draft-7", io: "input" }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const schema = {
    $schema,
    title: "gre-gen topology",
    description: "Docker hosts joined into one L2 container network over Open vSwitch GRE, VXLAN or Geneve tunnels (gre-gen, format version 1)",
    ...rest,
  };
  return JSON.stringify(schema, null, 2) + "\n";
}
