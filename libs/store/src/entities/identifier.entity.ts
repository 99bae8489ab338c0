import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('identifiers')
export class IdentifierEntity {
  @PrimaryColumn('text') tenant!: string;
  @PrimaryColumn('text') type!: string;
  @PrimaryColumn('text') value!: string;
  @Column('text', { name: 'profile_id' }) profileId!: string;
  @Column('text') confidence!: string;
  @Column('timestamptz', { name: 'first_seen' }) firstSeen!: Date;
  @Column('timestamptz', { name: 'last_seen' }) lastSeen!: Date;
}
