// The package's version, for `--version`. A constant rather than a read of package.json: the
// npm bundle (dist/cli.js), tsx and Deno (which publishes src/ without package.json) all see
// it the same. tests/unit/cli_usage.test.ts fails when it differs from package.json's or
// deno.json's; scripts/sync-version.ts keeps those two in step.
export const VERSION = "0.1.0";
