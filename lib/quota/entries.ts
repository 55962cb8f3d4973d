/**
 * The shape of the client quotas (issue 19) that the metadata image (model) and the per-node
 * QuotaManager (enforcement) share: an entity of user / client-id / ip parts and its values.
 */
export const quotaEntityTypes = ['user', 'client-id', 'ip'] as const;
export type QuotaEntityType = (typeof quotaEntityTypes)[number];
/** One entity component; name null = the default entity of that type. */
export interface QuotaEntityPart { readonly type: QuotaEntityType; readonly name: string | null }
export const quotaKeys = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate', 'connection_creation_rate'] as const;
export type QuotaKey = (typeof quotaKeys)[number];
/** The quotas set on one entity (a user, a client id, a (user, client-id) pair, an ip). */
export interface QuotaEntry { readonly entity: readonly QuotaEntityPart[]; readonly values: ReadonlyMap<QuotaKey, number> }
