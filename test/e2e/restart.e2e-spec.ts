import { ProfilesClient, startSingleNode } from '../support/single-node-server';

describe('given a single-node server with accepted upserts', () => {
  it('when it is stopped (SIGTERM) and started again on the same data dir, then nothing is lost and the same keys work', async () => {
    const first = await startSingleNode();
    try {
      const api = new ProfilesClient(first.url, first.publicKey, first.privateKey);
      const items = Array.from({ length: 300 }, (_, i) => ({ attributes: { email: `restart.${i}@example.com`, n: i } }));
      expect((await api.post(items)).status).toBe(202);
      expect(await first.stop('SIGTERM')).toBe(0);

      const second = await startSingleNode({ dataDir: first.dataDir });
      try {
        expect(second.publicKey).toBe(first.publicKey);
        expect(second.privateKey).toBe(first.privateKey);
        const again = new ProfilesClient(second.url, second.publicKey, second.privateKey);
        for (const i of [0, 150, 299]) {
          const p = await again.until(`email=restart.${i}@example.com`);
          expect(p.attributes.n).toBe(i);
        }
        expect((await again.get('email=restart.7@example.com')).status).toBe(200);
      } finally {
        expect(await second.stop('SIGTERM')).toBe(0);
      }
    } finally {
      first.cleanup();
    }
  });

  it('when it is killed with SIGKILL and restarted, then every item that got a 202 is queryable', async () => {
    const first = await startSingleNode();
    try {
      const api = new ProfilesClient(first.url, first.publicKey, first.privateKey);
      const accepted: number[] = [];
      for (let b = 0; b < 5; b++) {
        const items = Array.from({ length: 100 }, (_, i) => ({ attributes: { email: `killed.${b}.${i}@example.com`, b } }));
        if ((await api.post(items)).status === 202) accepted.push(b);
      }
      await first.stop('SIGKILL');
      const second = await startSingleNode({ dataDir: first.dataDir });
      try {
        const again = new ProfilesClient(second.url, second.publicKey, second.privateKey);
        expect(accepted).toHaveLength(5);
        for (const b of accepted) {
          for (const i of [0, 99]) expect((await again.until(`email=killed.${b}.${i}@example.com`)).attributes.b).toBe(b);
        }
      } finally {
        await second.stop('SIGTERM');
      }
    } finally {
      first.cleanup();
    }
  });
});
