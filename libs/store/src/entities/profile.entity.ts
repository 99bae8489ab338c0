import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('profiles')
export class ProfileEntity {
  @PrimaryColumn('text') tenant!: string;
  @PrimaryColumn('text') id!: string;
  @Column('jsonb') attributes!: Record<string, unknown>;
  @Column('jsonb', { name: 'attribute_versions' }) attributeVersions!: Record<string, [number, string]>;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('text', { name: 'created_record_id' }) createdRecordId!: string;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('text', { name: 'merged_into', nullable: true }) mergedInto!: string | null;
  @Column('integer') version!: number;
}
