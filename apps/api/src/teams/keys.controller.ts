import { Body, Controller, Delete, Get, Header, NotFoundException, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ApiKeyStore, type ApiKeyInfo, type CreatedApiKey } from '@app/store';
import { ApiKeyCache } from '../access/api-key.guard';
import { Roles } from '../access/roles.decorator';
import { CreateApiKeyDto } from './dto';
import { asHttp } from './teams.controller';

@ApiTags('api-keys')
@Roles('admin')
@Controller('api-keys')
export class KeysController {
  constructor(
    private readonly keys: ApiKeyStore,
    private readonly keyCache: ApiKeyCache,
  ) {}

  @Post()
  // The secret is in this response only: no proxy or browser may keep a copy.
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Create a key bound to a role (navigator and lead keys to a team member)' })
  @ApiCreatedResponse({ description: 'The key with its secret, shown this once: only its SHA-256 is stored' })
  @ApiUnprocessableEntityResponse({ description: 'The role and member do not go together, or no such member' })
  async create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKey> {
    return this.keys.createKey(body).catch(asHttp);
  }

  @Get()
  @ApiOperation({
    summary: 'Every key, newest first, revoked ones included: prefix, role, member, label; never a secret',
  })
  async list(): Promise<{ items: ApiKeyInfo[] }> {
    return { items: await this.keys.list() };
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a key (idempotent); this process refuses it at once, every api process within 5 s' })
  @ApiNotFoundResponse({ description: 'No such key' })
  async revoke(@Param('id', new ParseUUIDPipe()) id: string): Promise<ApiKeyInfo> {
    const key = await this.keys.revoke(id);
    if (!key) throw new NotFoundException('no such API key');
    this.keyCache.clear();
    return key;
  }
}
