// A TCP proxy on loopback that tests put between a store and MariaDB to cut the path and
// restore it: while cut, new connections are refused and open ones are closed, as when the
// server or the network goes away.
import net from "node:net";

export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** The port the proxy listens on (127.0.0.1); chosen by the OS on the first listen. */
  get port(): number {
    return this.#port;
  }

  /** Connections open through the proxy right now. */
  get openConnections(): number {
    return this.#sockets.size / 2;
  }

  /** Whether the path is open. */
  get open(): boolean {
    return this.#server !== undefined;
  }

  /** Starts listening (again, on the same port after a cut). */
  async restore(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((client) => this.#pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Refuses new connections and closes every open one. Also how a test ends with the proxy. */
  async cut(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  #pipe(client: net.Socket): void {
    const upstream = net.connect(this.#target);
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      this.#sockets.add(socket);
      socket.on("error", () => other.destroy());
      socket.on("close", () => {
        this.#sockets.delete(socket);
        other.destroy();
      });
      socket.pipe(other);
    }
  }
}

/** A proxy to `target`, listening and open. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const proxy = new TcpProxy(target);
  await proxy.restore();
  return proxy;
}
