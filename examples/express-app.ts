// The example app: Express 5 + express-session + knex-mysql-session.
//   npm start                                  uses mysql://root@127.0.0.1:3306/test, or, when
//                                              nothing listens there, MySQL 8.4 in Docker
//   MYSQL_URL=mysql://user:pw@host/db npm start
//   PORT=8080 npm start
import express from "express";
import session from "express-session";
import net from "node:net";
import process from "node:process";
import { KnexMySQLStore } from "../mod.ts";

declare module "express-session" {
  interface SessionData {
    views: number;
    name: string;
  }
}

const LOCAL_URL = "mysql://root@127.0.0.1:3306/test";
const port = Number(process.env.PORT ?? 3000);

/** Whether something accepts connections on 127.0.0.1:3306. */
function localServerListens(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(3306, "127.0.0.1");
    socket.setTimeout(2_000);
    socket.once("connect", () => resolve(true)).once("error", () => resolve(false))
      .once("timeout", () => resolve(false)).once("close", () => socket.destroy());
    socket.once("connect", () => socket.end());
  });
}

/** MySQL 8.4 in Docker through testcontainers (as the tests start it), or undefined. */
async function dockerServer(): Promise<string | undefined> {
  try {
    const { MySqlContainer } = await import("@testcontainers/mysql");
    const container = await new MySqlContainer("mysql:8.4").withRootPassword("root").start();
    console.log("started MySQL 8.4 in Docker (testcontainers); it goes when the app stops");
    return `mysql://root:root@${container.getHost()}:${container.getPort()}/test`;
  } catch {
    return undefined;
  }
}

function noServer(): never {
  console.error(
    "knex-mysql-session example: nothing answers on 127.0.0.1:3306 (connection refused). " +
      "Three ways out:\n" +
      "  1. MYSQL_URL=mysql://user:password@host:3306/database npm start\n" +
      "  2. a local MariaDB or MySQL on 127.0.0.1:3306 (root without a password, database test)\n" +
      "  3. Docker running: npm start then starts MySQL 8.4 in a container",
  );
  process.exit(1);
}

const configured = process.env.MYSQL_URL;
const connection = configured ??
  (await localServerListens() ? LOCAL_URL : await dockerServer() ?? noServer());

const store = new KnexMySQLStore({ connection });
// One line per change of state, not one per failed attempt.
store.on("disconnect", () => console.error("session store: database unreachable"));
store.on("connect", () => console.log("session store: database ready"));
store.on("error", (error) => console.error(`session store: ${error.message}`));
// A server that does not answer at start: say which and why, instead of serving 503s forever.
// A refused login or a missing schema is a set-up error: the `error` line above names the fix.
await store.ready.catch(async (error: { code?: string; message?: string }) => {
  await store.close();
  if (
    error.code === "ERR_CONFIG" || error.code === "ERR_SCHEMA" || error.code === "ERR_ACCESS_DENIED"
  ) {
    process.exit(1);
  }
  console.error(
    `knex-mysql-session example: the server at ${
      configured ? "MYSQL_URL" : "127.0.0.1:3306"
    } does not answer (${error.message?.replace(/^knex-mysql-session: /, "")}): ${
      configured
        ? "check the host and port in MYSQL_URL, and that the server runs and accepts connections " +
          "from here"
        : "is the server on 127.0.0.1:3306 running and accepting connections?"
    }`,
  );
  process.exit(1);
});

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(session({
  secret: process.env.SESSION_SECRET ?? "example secret: set SESSION_SECRET in production",
  resave: false,
  saveUninitialized: false,
  store,
  cookie: { maxAge: 30 * 60_000, httpOnly: true, sameSite: "lax" },
}));

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

app.get("/", (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  const who = req.session.name ? `Hello, ${escapeHtml(req.session.name)}.` : "You are anonymous.";
  res.type("html").send(`<!doctype html><title>knex-mysql-session example</title>
<h1>knex-mysql-session example</h1>
<p>${who} Views in this session: <strong id="views">${req.session.views}</strong></p>
<form method="post" action="/login"><input name="name" placeholder="Your name" required>
<button>Log in</button></form>
<form method="post" action="/logout"><button>Log out</button></form>`);
});

app.post("/login", (req, res, next) => {
  const name = String(req.body?.name ?? "").slice(0, 100);
  // A new session id on login, so a session fixed before login is worthless.
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.name = name;
    res.redirect("/");
  });
});

app.post("/logout", (req, res, next) => {
  req.session.destroy((error) => (error ? next(error) : res.redirect("/")));
});

app.get("/api/session", (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json({ id: req.sessionID, views: req.session.views, name: req.session.name ?? null });
});

const server = app.listen(port, () => {
  console.log(`knex-mysql-session example listening on http://localhost:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    server.close(() => void store.close());
  });
}
