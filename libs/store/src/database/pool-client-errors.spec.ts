import { AddressInfo, createServer, Server } from 'node:net';
import { Pool } from 'pg';
import { keepPoolClientErrorsHandled } from './pool-client-errors';

/** A backend message: type byte, int32 length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * A stand-in for a PostgreSQL server that is shutting down: it accepts the startup and, in the same write as
 * the ReadyForQuery, terminates the new connection (FATAL 57P01) — one read for the driver.
 */
async function shuttingDownServer(): Promise<Server> {
  const int32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  const fatal = Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0', 'latin1');
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.write(Buffer.concat([message('R', int32(0)), message('Z', Buffer.from('I')), message('E', fatal)]));
      socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('given a pooled connection that PostgreSQL terminates in the read that completes its start-up', () => {
  let server: Server;
  beforeAll(async () => {
    server = await shuttingDownServer();
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('when it is handed out, then the error reaches the listener and the holder, and nothing is thrown at the process', async () => {
    const pool = new Pool({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, user: 'u', database: 'd', password: 'p' });
    pool.on('error', () => undefined);
    const seen: string[] = [];
    keepPoolClientErrorsHandled(pool, (e) => seen.push(e.message));
    const client = await pool.connect(); // the FATAL was emitted inside this hand-over, before this line ran
    expect(seen).toEqual(['terminating connection due to administrator command']);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    await pool.end();
  });
});
