import { Body, Controller, Get, Header, HttpCode, Param, Post, Req } from '@nestjs/common';
import { isRegulation, type Regulation } from '@tessera/contracts';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, ApiProblemException, AuthenticatedRequest } from '@tessera/runtime';
import { ApiErasureRequest, ApiErasureStatus } from './compliance.dto';
import { ComplianceService } from './compliance.service';

/** Longest request id looked up (ids are UUIDs); anything longer is unknown. */
const MAX_REQUEST_ID_LENGTH = 64;

function regulationOf(value: string): Regulation {
  // Only gdpr, ccpa and lgpd exist (the same operation); any other path is no route.
  if (!isRegulation(value)) throw new ApiProblemException(404, { message: 'No such route' });
  return value;
}

/** ODP-compatible deletion requests (DESIGN §11), private key only. */
@ApiTags('compliance (v3)')
@Controller('v3/compliance')
export class ComplianceController {
  constructor(private readonly compliance: ComplianceService) {}

  /** 202 `{"request_ids":[…]}` once the log holds an erasure record per item. */
  @Post(':regulation/delete')
  @HttpCode(202)
  @Access('private')
  @ApiOperation({ summary: 'Request the erasure of the people some identifiers resolve to' })
  @ApiErasureRequest()
  async delete(@Param('regulation') regulation: string, @Body() body: unknown, @Req() request: AuthenticatedRequest) {
    const requestIds = await this.compliance.requestErasure(request.principal!.tenant, regulationOf(regulation), body);
    return { request_ids: requestIds };
  }

  /** 200 with the JSON string "IN_PROGRESS" or "COMPLETED"; 404 for an unknown id or another tenant's. */
  @Get(':regulation/status/:requestId')
  @Header('content-type', 'application/json; charset=utf-8')
  @Access('read')
  @ApiOperation({ summary: 'Status of an erasure request' })
  @ApiErasureStatus()
  async status(@Param('regulation') regulation: string, @Param('requestId') requestId: string, @Req() request: AuthenticatedRequest) {
    regulationOf(regulation);
    const status = requestId.length <= MAX_REQUEST_ID_LENGTH ? await this.compliance.status(request.principal!.tenant, requestId) : undefined;
    if (!status) throw new ApiProblemException(404, { message: `Unable to find deletion request ${requestId.slice(0, MAX_REQUEST_ID_LENGTH)}` });
    return JSON.stringify(status);
  }
}
