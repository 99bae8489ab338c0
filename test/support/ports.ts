import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/**
 * A loopback port for a server a test starts, chosen below the kernel's ephemeral range.
 * A port from listen(0) is ephemeral: the server's own embedded PostgreSQL (which asks the kernel
 * the same way) or any outgoing connection can take it before the server binds it (CI saw
 * EADDRINUSE). Ports below the range are only ever taken by explicit binds.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 20_000;
  const ceiling = Math.max(floor + 1_000, Math.min(low, 32_768));
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = floor + Math.floor(Math.random() * (ceiling - floor));
    if (handedOut.has(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${floor}-${ceiling}`);
}

const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: the common default
  }
  return [32_768, 60_999];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
