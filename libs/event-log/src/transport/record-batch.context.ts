import { BaseRpcContext } from '@nestjs/microservices';
import type { RecordBatch } from '../event-log.port';

type RecordBatchContextArgs = [group: string, schema: string | undefined, delivered: RecordBatch];

/** What a record-batch handler gets besides its run (`@Ctx()`): the group, the run's schema and the whole delivered batch. */
export class RecordBatchContext extends BaseRpcContext<RecordBatchContextArgs> {
  getGroup(): string {
    return this.args[0];
  }

  /** The run's schema; undefined only in a fallback handler, for records without a schema header. */
  getSchema(): string | undefined {
    return this.args[1];
  }

  /** The partition batch as the log delivered it; the run is a consecutive slice of it. */
  getDeliveredBatch(): RecordBatch {
    return this.args[2];
  }
}

/** Context of a `@CheckpointSource` handler. */
export class ConsumerGroupContext extends BaseRpcContext<[group: string]> {
  getGroup(): string {
    return this.args[0];
  }
}

/** Payload of a `@CheckpointSource` handler: the partition just assigned to the group. */
export interface AssignedPartition {
  topic: string;
  partition: number;
}
