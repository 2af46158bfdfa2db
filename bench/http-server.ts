// A child process: Express 5 + express-session on one store, serving the HTTP scenarios.
// Started by http-level.ts with its settings as JSON in argv[2]; reports on the IPC channel:
// { listening: port } once the sessions are seeded, { memory: {...} } when asked to stop.
import express from "express";
import session from "express-session";
import process from "node:process";
import { createAdapter } from "./adapters.ts";
import type { AdapterName } from "./options.ts";
import { Payload, sidOf } from "./payload.ts";

export interface ServerSettings {
  adapter: AdapterName;
  url: string;
  table: string;
  /** Extra options of this project's store (touchAfter). */
  ours: { touchAfter?: number };
  sessions: number;
  payload: number;
  secret: string;
}

export type ServerMessage =
  | { listening: number }
  | { memory: { peakRss: number; maxRss: number } }
  | { failed: string };

async function main(settings: ServerSettings) {
  const adapter = await createAdapter(
    settings.adapter,
    settings.url,
    settings.table,
    settings.ours,
  );
  const payload = new Payload(settings.payload);
  const { store } = adapter;
  for (let i = 0; i < settings.sessions; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, settings.sessions - i) }, (_, k) => {
        const sid = sidOf("h", i + k);
        return new Promise<void>((resolve, reject) =>
          store.set(sid, payload.session(sid), (error) => error ? reject(error) : resolve())
        );
      }),
    );
  }
  const common = {
    secret: settings.secret,
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 86_400_000 },
  };
  const fixed = session(common);
  const rolling = session({ ...common, rolling: true });
  const app = express();
  // A request whose session was not found is a wrong result: 500, counted by the parent.
  const found: express.RequestHandler = (req, res, next) => {
    if ((req.session as unknown as { marker?: string }).marker === req.sessionID) next();
    else res.status(500).end("session not found");
  };
  app.get("/read", fixed, found, (req, res) => {
    res.end(String((req.session as unknown as { views: number }).views));
  });
  app.get("/increment", fixed, found, (req, res) => {
    const data = req.session as unknown as { views: number };
    data.views++;
    res.end(String(data.views));
  });
  app.get("/rolling", rolling, found, (req, res) => {
    res.end(String((req.session as unknown as { views: number }).views));
  });
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
    const maxRss = process.resourceUsage().maxRSS * 1024;
    process.send?.({ memory: { peakRss, maxRss } } satisfies ServerMessage);
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
