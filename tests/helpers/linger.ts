// Loaded before every test file (`--import`): when a file's tests have all finished and its
// process is still alive a few seconds later, something it opened was never closed. Instead of
// waiting for the runner's timeout, which names nothing, this prints what keeps the process
// alive (sockets with their ports, servers, timers) and ends it with a failure; or, when its
// event loop is blocked, or it is stuck in Node's exit, says so from a process of its own and
// kills it.
import process from "node:process";
import { after } from "node:test";
import { spawn } from "node:child_process";
import { writeSync } from "node:fs";

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

// Runs in a process of its own, for what no timer of the file's own can report: a file whose
// event loop never turns again (a busy loop, or promises that resolve one another forever), and
// a file stuck in Node's exit, where its threads have already stopped: Node spins there, for
// good, while a handle it was told to close never closes (a socket reset while its end was under
// way). The file's process writes to the watchdog's stdin when it begins to exit; the watchdog
// ends as soon as that process does. It names the process's open TCP sockets (Linux).
const WATCHDOG = `
const { readFileSync, readdirSync, readlinkSync, writeSync } = require("node:fs");
const [pid, after, grace] = process.argv.slice(1).map(Number);
const started = Date.now();
let exiting = 0;
process.stdin.on("data", () => (exiting ||= Date.now()));
process.stdin.on("error", () => {});
const alive = () => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
function address(hex) {
  const [ip, port] = hex.split(":");
  const v4 = ip.length === 8 ? ip.match(/../g).reverse().map((b) => parseInt(b, 16)).join(".") : "[" + ip + "]";
  return v4 + ":" + parseInt(port, 16);
}
function sockets() {
  try {
    const inodes = new Map();
    for (const fd of readdirSync("/proc/" + pid + "/fd")) {
      const target = readlinkSync("/proc/" + pid + "/fd/" + fd);
      if (target.startsWith("socket:[")) inodes.set(target.slice(8, -1), fd);
    }
    const lines = [];
    const read = (table) => readFileSync("/proc/" + pid + "/net/" + table, "utf8").split("\\n").slice(1)
      .map((row) => row.trim().split(/\\s+/));
    for (const cols of [...read("tcp"), ...read("tcp6")]) {
      if (!cols[9] || !inodes.has(cols[9])) continue;
      lines.push("  socket " + address(cols[1]) + " -> " + address(cols[2]) + "\\n");
      inodes.delete(cols[9]);
    }
    for (const cols of read("unix")) inodes.delete(cols[6]);
    // A TCP socket whose connection has ended leaves the tables; its descriptor may not.
    for (const fd of inodes.values()) {
      lines.push("  socket fd " + fd + ": its connection has ended, its descriptor was never closed\\n");
    }
    return lines.join("") || "  no open TCP socket\\n";
  } catch {
    return "";
  }
}
function report(what) {
  writeSync(2, "this file's tests finished " + (Date.now() - started) + " ms ago and " + what + "\\n" + sockets());
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
  process.exit(0);
}
setInterval(() => {
  if (!alive()) process.exit(0);
  const now = Date.now();
  if (exiting && now - exiting >= grace) {
    report("its process began to exit " + (now - exiting) + " ms ago and has not ended: Node " +
      "spins in its exit while a handle it was told to close never closes (a socket reset while " +
      "its end was under way does this)");
  } else if (!exiting && now - started >= after) {
    report("its event loop has not turned since: something runs without ever yielding (a busy " +
      "loop, or promises that resolve one another forever)");
  }
}, 50);
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
  // No flags of the file's own (tsx, this hook): plain Node, which ends with the file.
  const watchdog = spawn(
    process.execPath,
    ["-e", WATCHDOG, String(process.pid), String(2 * GRACE_MS), String(GRACE_MS)],
    { stdio: ["pipe", "ignore", "inherit"], env: { ...process.env, NODE_OPTIONS: "" } },
  );
  watchdog.unref();
  const stdin = watchdog.stdin as unknown as { unref(): void; _handle?: { fd?: number } };
  stdin.unref();
  process.once("exit", () => {
    // Written at once: no asynchronous write is ever flushed this late.
    const fd = stdin._handle?.fd;
    if (fd !== undefined && fd >= 0) writeSync(fd, "exit\n");
  });
});
