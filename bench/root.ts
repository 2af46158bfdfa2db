// The repository: one level up from bench/, or two from bench/.build/ (see run.mjs).
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(
  new URL(import.meta.url.endsWith(".mjs") ? "../.." : "..", import.meta.url),
);
