import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A consumer's checkpoint, written in the same transaction as the projection it covers. */
@Entity('consumer_offsets')
export class ConsumerOffsetEntity {
  @PrimaryColumn('text', { name: 'consumer_group' }) consumerGroup!: string;
  @PrimaryColumn('text') topic!: string;
  @PrimaryColumn('integer') partition!: number;
  @Column('bigint', { name: 'next_offset' }) nextOffset!: string;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
