/**
 * @module Would S3, IAM or EC2 store this policy, and if not, with which error? The same rules the
 * server applies when a world is applied or a Put*Policy call arrives: grammar and placement
 * (validatePolicy with the action catalogue), then Block Public Access's BlockPublicPolicy for
 * public bucket and MRAP policies (docs/aws/mrap.md §Where AWS is silent: 403 AccessDenied, or a FAILED operation for MRAPs).
 */
import { type Catalog, isPublic, type PolicyError, type PolicyKind, parsePolicy, validatePolicy } from '../policy/index.js'
import type { BlockPublicAccess } from '../state/control-store.js'
import type { ModelPolicy } from './model.js'

export interface RefusalOptions {
  catalog?: Catalog | undefined
  bucket?: string
  mrapArn?: string
  attachment?: ModelPolicy['attachment']
  entityName?: string
  /** The Block Public Access settings that apply when storing (resource's own, owner account's). */
  blockPublicAccess?: (BlockPublicAccess | undefined)[]
}

export interface Refusal {
  status: number
  code: string
  message: string
  errors: PolicyError[]
  byBlockPublicAccess?: boolean
}

const STATUS: Record<string, number> = { MalformedPolicy: 400, MalformedPolicyDocument: 400, LimitExceeded: 409, PolicySizeExceeded: 400 }

export function refusalOf(text: string, kind: PolicyKind, opts: RefusalOptions): Refusal | undefined {
  const r = parsePolicy(text, { kind })
  const errors = r.ok
    ? validatePolicy(r.policy, {
        kind,
        ...(opts.catalog ? { catalog: opts.catalog } : {}),
        ...(opts.bucket ? { bucket: opts.bucket } : {}),
        ...(opts.mrapArn ? { mrapArn: opts.mrapArn } : {}),
        ...(opts.attachment ? { attachment: opts.attachment } : {}),
        ...(opts.entityName ? { entityName: opts.entityName } : {}),
      })
    : r.errors
  const first = errors[0]
  if (first) return { status: STATUS[first.code] ?? 400, code: first.code, message: first.message, errors }
  if (r.ok && (kind === 'bucket' || kind === 'mrap') && (opts.blockPublicAccess ?? []).some((b) => b?.BlockPublicPolicy === true) && isPublic(r.policy, kind)) {
    return { status: 403, code: 'AccessDenied', message: 'Access Denied', errors: [], byBlockPublicAccess: true }
  }
  return undefined
}
