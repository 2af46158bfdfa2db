// The recipes of the Sessions-by-user page, run as printed against a real database: the shared
// setup.mjs and each recipe (the code blocks whose info string ends in `sample`) are written to a
// scratch directory, started with MYSQL_URL, driven over HTTP by several "devices" (cookie jars),
// checked in the table too, and stopped with SIGTERM, on which each must exit by itself. Only the
// package specifier is mapped onto this checkout's mod.ts (tsconfig `paths`, read by tsx).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { TestDatabase } from "./helpers/database.ts";
import { removeScratchDirectories, scratchDirectory, serveApp } from "./helpers/sample_app.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const page = readFileSync(`${root}docs/docs/sessions-by-user.md`, "utf8");
// Under `deno test`, process.execPath is Deno: the samples are Node apps.
const node = "Deno" in globalThis ? "node" : process.execPath;

/** The page's code blocks tagged `sample`, by title. */
const samples = new Map(
  [...page.matchAll(/^```(\w+) title="([^"]+)" sample\n([\s\S]*?)^```$/gm)]
    .map(([, , title, code]) => [title as string, code as string]),
);

/** setup.mjs and the recipe in a scratch directory inside the checkout (for node_modules). */
function project(recipe: string): string {
  const dir = scratchDirectory("by-user");
  for (const file of ["setup.mjs", recipe]) {
    writeFileSync(`${dir}/${file}`, samples.get(file)!);
  }
  writeFileSync(
    `${dir}/package.json`,
    JSON.stringify({ type: "module", private: true }),
  );
  writeFileSync(
    `${dir}/tsconfig.json`,
    JSON.stringify({
      compilerOptions: {
        allowJs: true,
        allowImportingTsExtensions: true,
        noEmit: true,
        paths: { "knex-mysql-session": [`${root}mod.ts`] },
      },
    }),
  );
  return dir;
}

/** A browser: its own cookie jar and user agent. */
class Device {
  cookie = "";
  constructor(readonly base: string, readonly userAgent: string) {}

  async send(
    method: "GET" | "POST",
    path: string,
    form?: Record<string, string>,
  ) {
    const response = await fetch(this.base + path, {
      method,
      headers: {
        cookie: this.cookie,
        "user-agent": this.userAgent,
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const set = response.headers.getSetCookie()[0]?.split(";")[0];
    if (set) this.cookie = set;
    return { status: response.status, text: await response.text() };
  }

  async login(user: string): Promise<void> {
    const response = await this.send("POST", "/login", { user });
    assert.equal(response.text, `Logged in as ${user}\n`);
  }

  async me(): Promise<string> {
    return (await this.send("GET", "/me")).text;
  }
}

interface Running {
  devices: (userAgent?: string) => Device;
  /** How many sessions of the table each owner has (the markers of ended sessions left out). */
  owners(): Promise<Record<string, number>>;
  /** How many markers of ended sessions the table holds (rows with `destroyed` set, no owner). */
  markers(): Promise<number>;
  database: TestDatabase;
}

/** Runs the recipe against a fresh database, drives it with `drive`, stops it with SIGTERM. */
async function runRecipe(
  recipe: string,
  drive: (app: Running) => Promise<void>,
): Promise<void> {
  const output = await serveApp(
    node,
    ["--import", "tsx", recipe],
    project(recipe),
    async ({ url, database }) => {
      let n = 0;
      await drive({
        devices: (userAgent = `device ${++n}`) => new Device(new URL(url).origin, userAgent),
        async owners() {
          const rows = await database.admin("sessions").where({ destroyed: false })
            .select("user_id") as { user_id: string | null }[];
          const counts: Record<string, number> = {};
          for (const { user_id } of rows) {
            counts[String(user_id)] = (counts[String(user_id)] ?? 0) + 1;
          }
          return counts;
        },
        async markers() {
          const rows = await database.admin("sessions").where({ destroyed: true })
            .select("user_id") as { user_id: string | null }[];
          assert.ok(rows.every((row) => row.user_id === null), "a marker keeps no owner");
          return rows.length;
        },
        database,
      });
    },
  );
  assert.doesNotMatch(output, /warning|error/i, "nothing logged but the URL");
}

describe("the Sessions-by-user recipes", () => {
  after(removeScratchDirectories);

  it("are setup.mjs and the four documented apps", () => {
    assert.deepEqual([...samples.keys()], [
      "setup.mjs",
      "logout-everywhere.mjs",
      "devices.mjs",
      "password-change.mjs",
      "single-session.mjs",
    ]);
  });

  it("logout-everywhere.mjs: every other session of the user goes, as the curl session shows", async () => {
    await runRecipe("logout-everywhere.mjs", async ({ devices, owners, markers }) => {
      const [phone, laptop, tablet, other] = [
        devices(),
        devices(),
        devices(),
        devices(),
      ];
      // The curl lines of the page, with a third device and another user.
      await phone.login("alice");
      await laptop.login("alice");
      await tablet.login("alice");
      await other.login("bob");
      assert.deepEqual(await owners(), { alice: 3, bob: 1 });
      const everywhere = await laptop.send("POST", "/logout-everywhere");
      assert.equal(everywhere.text, "Logged out of 2 other session(s)\n");
      assert.equal(await phone.me(), "Not logged in\n");
      assert.equal(await tablet.me(), "Not logged in\n");
      assert.equal(await laptop.me(), "Logged in as alice\n");
      assert.equal(await other.me(), "Logged in as bob\n");
      assert.deepEqual(await owners(), { alice: 1, bob: 1 });
      assert.equal(await markers(), 2, "the two ended sessions stay as markers");
      const anonymous = devices();
      assert.equal(
        (await anonymous.send("POST", "/logout-everywhere")).status,
        401,
      );
      assert.match(page, /# Logged out of 1 other session\(s\)/);
    });
  });

  it("devices.mjs: lists the user's sessions and revokes one of them, only of them", async () => {
    await runRecipe("devices.mjs", async ({ devices }) => {
      const phone = devices("Phone browser");
      const laptop = devices("Laptop browser");
      const mallory = devices("Mallory's browser");
      await phone.login("alice");
      await laptop.login("alice");
      await mallory.login("mallory");
      const listed = await laptop.send("GET", "/devices");
      assert.equal(listed.status, 200);
      const list = JSON.parse(listed.text) as {
        device: string;
        name: string;
        expires: string;
        current: boolean;
      }[];
      assert.deepEqual(list.map((d) => d.name).sort(), [
        "Laptop browser",
        "Phone browser",
      ]);
      assert.deepEqual(list.map((d) => d.current).sort(), [false, true]);
      for (const d of list) {
        assert.match(d.device, /^[\w-]{16}$/);
        assert.ok(
          Date.parse(d.expires) > Date.now() + 23 * 3_600_000,
          d.expires,
        );
        assert.ok(
          !laptop.cookie.includes(d.device) && !phone.cookie.includes(d.device),
        );
      }
      const phoneHandle = list.find((d) => !d.current)!.device;
      const laptopHandle = list.find((d) => d.current)!.device;
      // Another user cannot revoke alice's sessions, even knowing a handle.
      const foreign = await mallory.send(
        "POST",
        `/devices/${laptopHandle}/revoke`,
      );
      assert.deepEqual(foreign, { status: 404, text: "No such device\n" });
      assert.equal(await laptop.me(), "Logged in as alice\n");
      const revoked = await laptop.send(
        "POST",
        `/devices/${phoneHandle}/revoke`,
      );
      assert.deepEqual(revoked, { status: 200, text: "Revoked\n" });
      assert.equal(await phone.me(), "Not logged in\n");
      assert.equal(await laptop.me(), "Logged in as alice\n");
      const after = JSON.parse(
        (await laptop.send("GET", "/devices")).text,
      ) as unknown[];
      assert.equal(after.length, 1);
      assert.equal((await phone.send("GET", "/devices")).status, 401);
    });
  });

  it("password-change.mjs: every session of the user goes, this device gets a new id", async () => {
    await runRecipe("password-change.mjs", async ({ devices, owners }) => {
      const [phone, laptop] = [devices(), devices()];
      await phone.login("alice");
      await laptop.login("alice");
      const oldLaptopCookie = laptop.cookie;
      const changed = await laptop.send("POST", "/password");
      assert.equal(
        changed.text,
        "Password changed: every other session is logged out\n",
      );
      assert.notEqual(laptop.cookie, oldLaptopCookie, "a new session id");
      assert.equal(await laptop.me(), "Logged in as alice\n");
      assert.equal(await phone.me(), "Not logged in\n");
      const stale = devices();
      stale.cookie = oldLaptopCookie;
      assert.equal(await stale.me(), "Not logged in\n");
      assert.deepEqual(await owners(), { alice: 1 });
    });
  });

  it("single-session.mjs: a login logs the user's other session out", async () => {
    await runRecipe("single-session.mjs", async ({ devices, owners }) => {
      const [phone, laptop, other] = [devices(), devices(), devices()];
      await phone.login("alice");
      await other.login("bob");
      await laptop.login("alice");
      assert.equal(await phone.me(), "Not logged in\n");
      assert.equal(await laptop.me(), "Logged in as alice\n");
      assert.equal(await other.me(), "Logged in as bob\n");
      await phone.login("alice");
      assert.equal(await laptop.me(), "Not logged in\n");
      assert.deepEqual(await owners(), { alice: 1, bob: 1 });
    });
  });
});
