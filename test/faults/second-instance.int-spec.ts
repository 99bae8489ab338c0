// Issue 9 item 2: a second Tessera process on the same data dir must never harm the first. It used to
// "stop the orphan" — the live server's own PostgreSQL — and the first server answered 503 for ever.
// Now a live owner's server is shared; only a dead (SIGKILLed) owner's server is cleaned up.
import { sleep } from '../support/faults/http';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

describe('given a single-node server running on a data dir', () => {
  const started: SingleNode[] = [];
  const start = async (dataDir?: string) => {
    const node = await startSingleNode({ dataDir });
    started.push(node);
    return node;
  };
  const client = (n: SingleNode) => new ProfilesClient(n.url, n.publicKey, n.privateKey);

  afterAll(async () => {
    for (const node of started.reverse()) await node.stop('SIGKILL');
    started[0]?.cleanup();
  });

  it('when a second server starts on the same data dir, then both serve, and stopping the second leaves the first working', async () => {
    const first = await start();
    expect((await client(first).post({ attributes: { email: 'one@example.com' } })).status).toBe(202);

    const second = await start(first.dataDir);
    expect(second.output()).not.toMatch(/failed/i);
    for (const [node, email] of [[first, 'a@example.com'], [second, 'b@example.com']] as const) {
      expect((await client(node).post({ attributes: { email } })).status).toBe(202);
    }
    await client(first).until('email=b%40example.com');
    await client(second).until('email=a%40example.com');

    expect(await second.stop('SIGTERM')).toBe(0); // it does not own the database: leaves it running
    await sleep(500);
    expect((await client(first).post({ attributes: { email: 'c@example.com' } })).status).toBe(202);
    await client(first).until('email=c%40example.com');
    expect((await fetch(`${first.url}/health/ready`)).status).toBe(200);
  }, 120_000);

  it('when the owner was SIGKILLed, then the next server cleans up its orphaned database and serves all acknowledged data', async () => {
    const [first] = started;
    expect(await first.stop('SIGKILL')).toBeNull();
    const third = await start(first.dataDir);
    expect((await client(third).post({ attributes: { email: 'd@example.com' } })).status).toBe(202);
    for (const email of ['one', 'a', 'b', 'c', 'd']) await client(third).until(`email=${email}%40example.com`);
    expect(await third.stop('SIGTERM')).toBe(0);
  }, 120_000);
});
