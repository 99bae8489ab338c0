// Issue 5 §1: SIGKILL the single-node server while clients post concurrently. After a restart on the
// same data dir every item that got a 202 is queryable; an item without a 202 is either wholly there
// or absent — never half-applied.
import { mapLimit } from '../support/faults/http';
import { itemState, LoadDriver, LoadItem } from '../support/faults/load';
import { ProfilesClient, SingleNode, startSingleNode } from '../support/single-node-server';

const ENV = { TESSERA_PARTITIONS: '1' }; // log order = application order: a sentinel proves the worker caught up

describe('given clients posting concurrently to the single-node server', () => {
  let first: SingleNode | undefined;
  let second: SingleNode | undefined;

  afterAll(async () => {
    await second?.stop('SIGTERM');
    await first?.stop('SIGKILL');
    first?.cleanup();
  });

  it('when the server is killed with SIGKILL mid-load and restarted, then every 202 item is there whole and no item is half-applied', async () => {
    first = await startSingleNode({ env: ENV });
    const load = new LoadDriver({ url: first.url, key: first.publicKey, clients: 6, itemsPerBatch: 40, tag: `kill${process.pid}` }).start();
    await load.untilAccepted(25);
    const inFlightAtKill = load.pending().length;
    expect(await first.stop('SIGKILL')).toBeNull(); // killed: no exit code
    await load.stop();

    const acked = load.accepted();
    const unacked = load.outcomes.filter((o) => o.response?.status !== 202);
    expect(acked.length).toBeGreaterThanOrEqual(25);
    expect(inFlightAtKill).toBeGreaterThan(0); // the kill really hit requests in flight
    // Nothing but 202 before the kill, and transport errors for what the kill cut off.
    for (const o of load.outcomes) {
      if (o.response?.status !== undefined) expect(o.response.status).toBe(202);
    }

    second = await startSingleNode({ dataDir: first.dataDir, env: ENV });
    const api = new ProfilesClient(second.url, second.publicKey, second.privateKey);
    // A sentinel after the restart: once it is applied, every record before it in the log is too.
    const sentinel = `sentinel.kill.${process.pid}@example.com`;
    expect((await api.post({ attributes: { email: sentinel } })).status).toBe(202);
    await api.until(`email=${encodeURIComponent(sentinel)}`, () => true, 30_000);

    const lookup = (item: LoadItem) => api.get(`email=${encodeURIComponent(item.attributes.email)}`);
    const ackedItems = acked.flatMap((o) => o.items);
    const ackedStates = await mapLimit(ackedItems, 8, async (item) => itemState(item, await lookup(item)));
    const missing = ackedItems.map((it, i) => `${it.attributes.email}:${ackedStates[i]}`).filter((s) => !s.endsWith(':applied'));
    expect(missing).toEqual([]);

    const unackedItems = unacked.flatMap((o) => o.items);
    const unackedStates = await mapLimit(unackedItems, 8, async (item) => itemState(item, await lookup(item)));
    const broken = unackedItems.map((it, i) => `${it.attributes.email}:${unackedStates[i]}`).filter((s) => !/:(applied|absent)$/.test(s));
    expect(broken).toEqual([]);
    expect(await second.stop('SIGTERM')).toBe(0);
    second = undefined;
  }, 120_000);
});
