/**
 * @module The policy engine's public surface: the only import path other modules may use.
 * Pure: no I/O, no clock, no logging (loadCatalog is the one exception and is lazy).
 */
export type {
  PolicyKind, IdentityAttachment, PolicyError, PolicyErrorCode, Effect, CompiledPolicy, CompiledStatement,
  CompiledCondition, BlockPublicAccess, OperatorName,
} from './types.js';
export type { AuthzRequest, AuthzPrincipal, AuthzPrincipalType, AuthzResource, Layers, AuthorizeOptions, AclGrant } from './request.js';
export type { Decision, Layer, ContextName, StatementRef, LayerExplain, ContextExplain, ContextRule } from './authorize.js';
export type { PolicyExplain, StatementExplain, ElementExplain } from './evaluate.js';
export type { ConditionExplain } from './conditions.js';
export type { ParseOptions, ParseResult } from './parse.js';
export type { ValidateOptions } from './validate.js';
export type { PublicStatus, PublicReason } from './public.js';
export type { S3RequestFacts } from './context.js';
export type { Catalog, CatalogAction, CatalogConditionKey, CatalogResourceType, ServiceCatalog } from './catalog-types.js';
export type { LintFinding } from './lint.js';

export { parsePolicy } from './parse.js';
export { validatePolicy } from './validate.js';
export { authorize } from './authorize.js';
export { isPublic, publicStatus } from './public.js';
export { serializePolicy } from './serialize.js';
export { buildS3Context } from './context.js';
export { loadCatalog } from './catalog.js';
export { findAction, findConditionKey } from './catalog-types.js';
export { lintPolicy } from './lint.js';
export { patternMeetsTemplate } from './resource-types.js';
export { dataNeeds, type DataNeeds } from './data-needs.js';
export { bucketArn } from './arn.js';
