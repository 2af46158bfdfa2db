// The Express 5 app the soak and the cluster failover test drive: each POST /increment adds one
// to a counter in the session and answers only once the session is saved, so a 2xx reply is an
// acknowledged session write.
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import session, { type Store } from "express-session";

declare module "express-session" {
  interface SessionData {
    count?: number;
  }
}

export function createCounterApp(store: Store): Express {
  const app = express();
  app.use(session({
    store,
    secret: "counter-app secret",
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 60 * 60 * 1000 },
  }));
  app.post("/increment", (req, res) => {
    // express-session leaves req.session unset while the store is disconnected.
    if (!req.session) {
      res.status(503).json({ error: "session store unavailable" });
      return;
    }
    const count = (req.session.count ?? 0) + 1;
    req.session.count = count;
    req.session.save((error) => {
      if (error) res.status(503).json({ error: String(error) });
      else res.json({ count });
    });
  });
  app.get("/count", (req, res) => {
    if (!req.session) res.status(503).json({ error: "session store unavailable" });
    else res.json({ count: req.session.count ?? 0 });
  });
  // A store failure express-session passes on (a read before the route): 503, as JSON.
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(503).json({ error: error.message });
  });
  return app;
}
