// Prints the versions of the dependencies a test run uses, so that a run of `npm run test:newest`
// says which releases it tested.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const names = ["mysql2", "knex", "express-session", "express"];
console.log(names.map((name) => `${name} ${require(`${name}/package.json`).version}`).join(", "));
