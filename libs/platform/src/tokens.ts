/** Injection tokens for the plain (non-Nest) building blocks the apps share. */
export const SERVICE_CONFIG = Symbol('ServiceConfig');
export const PG_POOL = Symbol('PgPool');
export const PATHWAY = Symbol('Pathway');
export const CLOCK = Symbol('Clock');
