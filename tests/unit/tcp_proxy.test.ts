// The TCP proxy's abrupt close (tests/fixtures/tcp_proxy.ts), which the partition and
// lost-reply tests stage failures with: a socket it closes must close, whatever its state, or
// the test file's process spins at exit instead of ending.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closeAbruptly } from "../fixtures/tcp_proxy.ts";
import { closeWhileEnding, connectedPair } from "../fixtures/socket_ending.ts";

describe("the TCP proxy's abrupt close", () => {
  // Bun ends a socket otherwise: the state Node cannot reset is not reached there.
  const staged = { skip: "Bun" in globalThis ? "Bun does not reach the state staged" : false };

  it(
    "closes a socket whose end is under way (a reset would leave it open for good)",
    staged,
    async () => {
      const { ending, closed } = await closeWhileEnding(closeAbruptly);
      assert.ok(ending, "the socket was not ending when it was closed: the case was not staged");
      assert.ok(closed, "the socket never closed");
    },
  );

  it("resets a live socket: its peer sees ECONNRESET", async () => {
    const { server, client, socket } = await connectedPair();
    try {
      const failed = new Promise<string>((resolve) => {
        client.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? ""));
        client.on("close", () => resolve("closed without an error"));
      });
      closeAbruptly(socket);
      assert.equal(await failed, "ECONNRESET");
    } finally {
      server.close();
    }
  });
});
