import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey } from './partitioner';

// KafkaJS's own partitioner is the reference: both engines must agree on where a key goes.
function kafkajsPartition(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0] }));
  return partitioner({ topic: 't', partitionMetadata: partitionMetadata as never, message: { key, value: null } });
}

describe('partitionForKey', () => {
  it('matches known Java murmur2 vectors', () => {
    // Values from Kafka's own UtilsTest (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });

  it('agrees with KafkaJS DefaultPartitioner on fixed keys', () => {
    for (const [key, n] of [['acme:jane@example.com', 12], ['t1:+15551234567', 3], ['', 7], ['é✓中', 5], ['x', 1]] as const) {
      expect(partitionForKey(key, n)).toBe(kafkajsPartition(key, n));
    }
  });

  it('agrees with KafkaJS DefaultPartitioner on arbitrary keys', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
        expect(partitionForKey(key, n)).toBe(kafkajsPartition(key, n));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a non-positive partition count', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
  });
});
