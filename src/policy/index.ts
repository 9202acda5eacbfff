/**
 * @module The policy engine's public surface: the only import path other modules may use.
 * Pure: no I/O, no clock, no logging (loadCatalog is the one exception and is lazy).
 */

export { bucketArn } from './arn.js'
export type { ContextExplain, ContextName, ContextRule, Decision, Layer, LayerExplain, StatementRef } from './authorize.js'
export { authorize } from './authorize.js'
export { loadCatalog } from './catalog.js'
export type { Catalog, CatalogAction, CatalogConditionKey, CatalogResourceType, ServiceCatalog } from './catalog-types.js'
export { findAction, findConditionKey } from './catalog-types.js'
export type { ConditionExplain } from './conditions.js'
export type { S3RequestFacts } from './context.js'
export { buildS3Context } from './context.js'
export { type DataNeeds, dataNeeds } from './data-needs.js'
export type { ElementExplain, PolicyExplain, StatementExplain } from './evaluate.js'
export type { LintFinding } from './lint.js'
export { lintPolicy } from './lint.js'
export type { ParseOptions, ParseResult } from './parse.js'
export { parsePolicy } from './parse.js'
export type { PublicReason, PublicStatus } from './public.js'
export { isPublic, publicStatus } from './public.js'
export type { AclGrant, AuthorizeOptions, AuthzPrincipal, AuthzPrincipalType, AuthzRequest, AuthzResource, Layers } from './request.js'
export { patternMeetsTemplate } from './resource-types.js'
export { serializePolicy } from './serialize.js'
export type {
  BlockPublicAccess,
  CompiledCondition,
  CompiledPolicy,
  CompiledStatement,
  Effect,
  IdentityAttachment,
  OperatorName,
  PolicyError,
  PolicyErrorCode,
  PolicyKind,
} from './types.js'
export type { ValidateOptions } from './validate.js'
export { validatePolicy } from './validate.js'
