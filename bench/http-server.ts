// A child process: Express 5 + express-session on one store, serving the HTTP scenarios.
// Started by http-level.ts with its settings as JSON in argv[2]; reports on the IPC channel:
// { listening: port } once the sessions are seeded, { peakRss: bytes } when asked to stop.
import express from "express";
import session from "express-session";
import process from "node:process";
import { createAdapter } from "./adapters.ts";
import { DAY, Payload } from "./payload.ts";

/** The store (createAdapter's arguments), its sessions, their size, the cookies' secret. */
export type ServerSettings = {
  adapter: Parameters<typeof createAdapter>;
  sessions: number;
  payload: number;
  secret: string;
};

export type ServerMessage = { listening: number } | { peakRss: number } | { failed: string };

async function main({ adapter: which, sessions, payload: size, secret }: ServerSettings) {
  const [adapter, payload] = [await createAdapter(...which), new Payload(size)];
  const { store } = adapter;
  await payload.seed(store, "h", sessions);
  const base = { secret, store, resave: false, saveUninitialized: false, cookie: { maxAge: DAY } };
  const [fixed, rolling] = [session(base), session({ ...base, rolling: true })];
  const app = express();
  const data = (req: express.Request) => req.session as unknown as ReturnType<Payload["session"]>;
  // A request whose session was not found is a wrong result: 500, counted by the parent.
  const found: express.RequestHandler = (req, res, next) => {
    if (data(req).marker === req.sessionID) next();
    else res.status(500).end("session not found");
  };
  app.get("/read", fixed, found, (req, res) => res.end(String(data(req).views)));
  app.get("/increment", fixed, found, (req, res) => res.end(String(++data(req).views)));
  app.get("/rolling", rolling, found, (req, res) => res.end(String(data(req).views)));
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  const server = app.listen(0, "127.0.0.1", () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    process.send?.({ listening: port } satisfies ServerMessage);
  });
  process.on("message", async () => {
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    process.send?.({ peakRss } satisfies ServerMessage);
    // Requests autocannon left in flight (even on sockets it already closed) finish before
    // the store closes.
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeIdleConnections();
    });
    await new Promise((resolve) => setTimeout(resolve, 250));
    await adapter.close();
    process.disconnect?.();
  });
}

main(JSON.parse(process.argv[2] as string) as ServerSettings).catch((error) => {
  process.send?.({ failed: String(error?.stack ?? error) } satisfies ServerMessage);
  process.exitCode = 1;
  process.disconnect?.();
});
