import { ApiProperty } from '@nestjs/swagger';

/** A probe's answer: a status only (why a check fails is logged, never answered). */
export class HealthStatusDto {
  @ApiProperty({ enum: ['ok', 'unavailable'], example: 'ok' })
  status!: 'ok' | 'unavailable';
}
