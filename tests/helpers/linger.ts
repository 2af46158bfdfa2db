// Loaded before every test file (`--import`): when a file's tests have all finished and its
// process is still alive a few seconds later, something it opened was never closed. Instead of
// waiting for the runner's timeout, which names nothing, this prints what keeps the process
// alive (sockets with their ports, servers, timers) and ends it with a failure; or, when its
// event loop is blocked and no timer can fire, says so from a thread of its own and kills it.
import process from "node:process";
import { after } from "node:test";
import { Worker } from "node:worker_threads";

/** How long a finished file may take to exit before its open handles are reported. */
const GRACE_MS = Number(process.env.LINGER_GRACE_MS ?? 5000);

interface SocketLike {
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  destroyed?: boolean;
  connecting?: boolean;
}
interface ServerLike {
  address(): { port: number } | string | null;
}

/** One line per open handle, with what tells whose it is: the ports, the state. */
function describeHandle(handle: unknown): string {
  const name = (handle as object)?.constructor?.name ?? typeof handle;
  if (handle && typeof (handle as ServerLike).address === "function" && name === "Server") {
    const address = (handle as ServerLike).address();
    return `${name} listening on ${typeof address === "object" ? address?.port : address}`;
  }
  if (name === "Socket" || name === "TLSSocket") {
    const s = handle as SocketLike;
    if (s.remotePort === undefined) return `${name} (pipe or unconnected)`;
    const state = s.connecting ? " connecting" : s.destroyed ? " destroyed" : "";
    return `${name} ${s.localPort} -> ${s.remoteAddress}:${s.remotePort}${state}`;
  }
  return name;
}

/** The open handles, named. `_getActiveHandles` is undocumented but present in Node 20-26. */
export function openHandles(): string[] {
  const handles = (process as unknown as { _getActiveHandles?: () => unknown[] })
    ._getActiveHandles?.() ?? [];
  return handles.map(describeHandle);
}

// Runs on a thread of its own, so that it runs even when the file's event loop never turns
// again (a busy loop, or promises that resolve one another forever): then no timer of the
// file's own fires, and nothing else would say why it hangs.
const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const { writeSync } = require("node:fs");
setTimeout(() => {
  writeSync(2, "this file's tests finished " + workerData.after + " ms ago and its event loop " +
    "has not turned since: something runs without ever yielding (a busy loop, or promises " +
    "that resolve one another forever)\\n");
  process.kill(process.pid, "SIGKILL");
}, workerData.after);
`;

after(() => {
  setTimeout(() => {
    process.stderr.write(
      `this file's tests finished ${GRACE_MS} ms ago but its process is still alive.\n` +
        `active resources: ${process.getActiveResourcesInfo().join(", ")}\n` +
        openHandles().map((line) => `  ${line}\n`).join(""),
    );
    process.exit(1);
  }, GRACE_MS).unref();
  // execArgv: [] so that the thread loads neither tsx nor this hook.
  new Worker(WATCHDOG, { eval: true, execArgv: [], workerData: { after: 2 * GRACE_MS } }).unref();
});
