import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { MEMBER_ROLES, type ApiRole, type MemberRole } from '@app/navigation';
import { API_KEY_ROLES, TEAM_CODE_PATTERN } from '@app/store';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
// PATCH fields: absent means "leave it", but an explicit null is refused (IsOptional would let null through).
const present = (_: object, value: unknown) => value !== undefined;

export class CreateTeamDto {
  @ApiProperty({ example: 'SARC-NORTH', description: 'As upstream systems send it in careTeam, or a routing target' })
  @IsString()
  @Matches(TEAM_CODE_PATTERN, { message: 'code may hold letters, digits, . _ - (up to 100, starting alphanumeric)' })
  code!: string;

  @ApiProperty({ example: 'North sarcoma care team' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;
}

export class AddMemberDto {
  @ApiProperty({ example: 'Maren Holt' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiProperty({ example: 'maren.holt@hospital.example', description: 'Work email (stored lower-case)' })
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ enum: MEMBER_ROLES })
  @IsIn(MEMBER_ROLES)
  role!: MemberRole;
}

export class UpdateMemberDto {
  @ApiPropertyOptional({ description: 'false: receives no tasks, and keys bound to the member stop working' })
  @ValidateIf(present)
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ enum: MEMBER_ROLES })
  @ValidateIf(present)
  @IsIn(MEMBER_ROLES)
  role?: MemberRole;

  @ApiPropertyOptional()
  @ValidateIf(present)
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @ValidateIf(present)
  @IsEmail()
  @MaxLength(254)
  email?: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ enum: API_KEY_ROLES })
  @IsIn(API_KEY_ROLES)
  role!: ApiRole;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Required for navigator and lead keys (a lead key needs a navigator-lead or clinical-lead); none for integration and admin keys',
  })
  @IsOptional()
  @IsUUID()
  memberId?: string | null;

  @ApiProperty({ example: 'LIS interface, production', description: 'What the key is for, to tell keys apart' })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  label!: string;
}
