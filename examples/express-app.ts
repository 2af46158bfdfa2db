// The example app: Express 5 + express-session + knex-mysql-session.
//   npm start                                  uses mysql://root@127.0.0.1:3306/test
//   MYSQL_URL=mysql://user:pw@host/db npm start
//   PORT=8080 npm start
import express from "express";
import session from "express-session";
import process from "node:process";
import { KnexMySQLStore } from "../mod.ts";

declare module "express-session" {
  interface SessionData {
    views: number;
    name: string;
  }
}

const connection = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const port = Number(process.env.PORT ?? 3000);

const store = new KnexMySQLStore({ connection });
store.on("disconnect", () => console.error("session store: database unreachable"));
store.on("connect", () => console.log("session store: database ready"));

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
