import { Pool, PoolClient } from 'pg';

/** BEGIN … COMMIT on a pooled client; ROLLBACK and rethrow on any error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: a dropped connection would emit an unhandled 'error'
  // (and kill the process). The failing query rejects anyway, so the event only needs swallowing.
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    client.removeListener('error', onError);
    client.release();
    return result;
  } catch (e) {
    // A connection that cannot even roll back is broken: drop it instead of returning it to the pool.
    const broken =
      lost ||
      (await client.query('ROLLBACK').then(
        () => false,
        () => true,
      ));
    client.removeListener('error', onError);
    client.release(broken ? (e instanceof Error ? e : new Error(String(e))) : undefined);
    throw e;
  }
}
