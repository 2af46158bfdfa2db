// The TLS-only MariaDB of scripts/ensure-mariadb-tls.sh as the tests see it: its certificates,
// its URL, and a way to make it serve its expired certificate for a while; and MySQL 9.7's CA. Node and Deno both
// load this file (node: imports only).
import { execFile } from "node:child_process";
import { copyFile, open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Knex } from "knex";

/** MySQL 9.7's own CA, which made its server certificate at first start (scripts/ensure-mysql.sh). */
export const MYSQL_CA: string = process.env.KMS_MYSQL_CA ??
  "/var/cache/mysql-sid/var/lib/mysql-test/ca.pem";

/** The certificate directory: KMS_TLS_DIR, else the script's default. */
function tlsDir(): string {
  return process.env.KMS_TLS_DIR || "/var/cache/kms-tls";
}

/** The TLS instance's port: KMS_TLS_PORT, else 3308. */
function tlsPort(): number {
  return Number(process.env.KMS_TLS_PORT || 3308);
}

/** The files the script makes in tlsDir(). */
export type TlsFile =
  | "ca.pem"
  | "other-ca.pem"
  | "server-cert.pem"
  | "server-key.pem"
  | "expired-cert.pem"
  | "expired-key.pem"
  | "client-cert.pem"
  | "client-key.pem";

/** The path of one of the certificate files. */
export function tlsFile(name: TlsFile): string {
  return join(tlsDir(), name);
}

/** The text of one of the certificate files (PEM). */
export function readTlsFile(name: TlsFile): Promise<string> {
  return readFile(tlsFile(name), "utf8");
}

/**
 * The root URL of the TLS instance (no password; the server takes it only over TLS, so a
 * connection needs TLS too, e.g. `?ssl-ca=` with tlsFile("ca.pem")).
 */
export function tlsMariadbUrl(database = "test"): string {
  return `mysql://root@127.0.0.1:${tlsPort()}/${database}`;
}

const script = fileURLToPath(new URL("../../scripts/ensure-mariadb-tls.sh", import.meta.url));
let ensured: Promise<void> | undefined;

/** Runs scripts/ensure-mariadb-tls.sh (once per process): the instance is up afterwards. */
export function ensureTlsMariadb(): Promise<void> {
  ensured ??= new Promise<void>((resolve, reject) => {
    execFile("bash", [script], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ensure-mariadb-tls.sh failed:\n${stdout}${stderr}`));
      else resolve();
    });
  });
  return ensured;
}

// ------------------------------------------------------------------ swapping the certificate

/** What the server can be made to serve: its valid certificate or the expired one. */
export type ServerCertificate = "server" | "expired";

async function serve(certificate: ServerCertificate): Promise<void> {
  // The server reads these two at start and on FLUSH SSL (the script starts it with them).
  // copyFile writes into the existing files, which keep their owner.
  await copyFile(tlsFile(`${certificate}-key.pem`), join(tlsDir(), "active-key.pem"));
  await copyFile(tlsFile(`${certificate}-cert.pem`), join(tlsDir(), "active-cert.pem"));
}

// deno-lint-ignore no-explicit-any
type DriverConnection = any; // a mysql2 connection, as knex's pool hands it out

function flushOn(connection: DriverConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.query("FLUSH SSL", (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

/** FLUSH SSL as root over the instance's unix socket, which needs no TLS (the last resort). */
function flushOverSocket(): Promise<void> {
  const base = process.env.KMS_TLS_BASE || "/var/cache/kms-mariadb-tls";
  const args = ["--no-defaults", "--protocol=socket", `--socket=${base}/mariadbd.sock`, "-uroot"];
  return new Promise((resolve, reject) => {
    execFile("mariadb", [...args, "-e", "FLUSH SSL"], { timeout: 30_000 }, (error, _, stderr) => {
      if (error) reject(new Error(`FLUSH SSL over ${base}/mariadbd.sock failed: ${stderr}`));
      else resolve();
    });
  });
}

/**
 * One swap at a time across processes (test files run in parallel): a lock file holding the
 * owner's pid; a lock whose owner is gone is taken over. Waits at most 60 s.
 */
async function lock(): Promise<() => Promise<void>> {
  const path = join(tlsDir(), ".swap.lock");
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const file = await open(path, "wx");
      await file.writeFile(String(process.pid));
      await file.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    const owner = (await readFile(path, "utf8").catch(() => "")).trim();
    const alive = /^\d+$/.test(owner) &&
      (await stat(`/proc/${owner}`).then(() => true, () => false));
    // An empty file is being written, unless it has been for seconds (its writer died).
    const young = await stat(path).then((s) => Date.now() - s.mtimeMs < 5_000, () => false);
    if (!alive && (owner !== "" || !young)) await rm(path, { force: true });
    if (Date.now() > deadline) throw new Error(`${path} stayed locked (pid ${owner}) for 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `work` while the TLS instance serves `certificate` ("expired": signed by our CA, with
 * the right names, expired in 2021) to new connections, then makes it serve the valid one again
 * whatever happens. `admin` is a knex instance on the instance with RELOAD (root); one of its
 * pooled connections, taken before the swap and held until after it, runs both FLUSH SSL
 * statements, so the swap back needs no new handshake (the unix socket is the fallback if that
 * connection died).
 *
 * Connections opened before the swap keep working; every new one meets the swapped certificate,
 * including new pooled connections of `admin` itself: to query through `admin` during `work`,
 * give it idle connections to spare (pool min ≥ 2, warmed up) or an `ssl` that does not verify.
 * Other tests on the instance that connect meanwhile meet it too: keep such tests out of files
 * that run in parallel with this one. Swaps themselves are serialised across processes.
 */
export async function withServerCertificate<T>(
  admin: Knex,
  certificate: ServerCertificate,
  work: () => Promise<T>,
): Promise<T> {
  const unlock = await lock();
  let connection: DriverConnection;
  try {
    connection = await admin.client.acquireConnection();
  } catch (error) {
    await unlock();
    throw error;
  }
  let result: T;
  try {
    await serve(certificate);
    await flushOn(connection);
    result = await work();
  } catch (error) {
    await restore(admin, connection).catch((restoreError) => {
      console.error("withServerCertificate: could not restore the valid certificate", restoreError);
    });
    await unlock();
    throw error;
  }
  try {
    await restore(admin, connection);
  } finally {
    await unlock();
  }
  return result;
}

async function restore(admin: Knex, connection: DriverConnection): Promise<void> {
  try {
    await serve("server");
    await flushOn(connection).catch(flushOverSocket);
  } finally {
    await admin.client.releaseConnection(connection);
  }
}
