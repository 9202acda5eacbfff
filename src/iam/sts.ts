/**
 * @module STS: GetCallerIdentity and AssumeRole.
 *
 * AssumeRole is authorized as AWS does it (IAM User Guide, "Granting a user permissions to switch
 * roles" and the cross-account evaluation logic): the role's trust policy must allow the caller
 * sts:AssumeRole (a resource-based policy evaluated by the policy engine), and
 * - cross-account, the caller's identity policies must also allow sts:AssumeRole on the role;
 * - same-account, a trust statement naming the caller itself (or `*`) suffices; one naming only
 *   the account delegates to the caller's identity policies.
 * Session tags need sts:TagSession the same way; SourceIdentity needs sts:SetSourceIdentity.
 * The session's permissions are the role's identity policies intersected with the session
 * policies (Policy and PolicyArns, merged into one document: statements of several policies
 * evaluated together are their union, which is how AWS combines session policies).
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 */

import { requestFacts } from '../authz/request-facts.js'
import { authorize, buildS3Context, type Decision } from '../policy/index.js'
import { authzPrincipal } from '../s3/authorize.js'
import { s3Error } from '../shared/errors.js'
import { type ApiCall, accessDenied, decide, tagContext } from './api-auth.js'
import { checkPolicyDocument, type Op } from './iam-common.js'
import { iamDate, type RoleRec, randomId, randomSecret, randomSessionToken, type SessionRec, sessionArn } from './model.js'
import { el, node } from './query.js'
import { nameKey } from './store.js'

const SESSION_NAME_RE = /^[\w+=,.@-]{2,64}$/
const ROLE_ARN_RE = /^arn:[a-z-]+:iam::(\d{12}):role(\/(?:[\x21-\x7e]*\/)?)([\w+=,.@-]{1,64})$/
const MAX_SESSION_POLICY_CHARS = 2048
const CHAINED_MAX_SECONDS = 3600

function validation(param: string, value: string, constraint: string): never {
  throw s3Error('ValidationError', { message: `1 validation error detected: Value '${value}' at '${param}' failed to satisfy constraint: ${constraint}` })
}

/** The trust policy's verdict on the caller, and whether its allowing statement names the caller itself. */
function trustDecision(call: ApiCall, role: RoleRec, arn: string, action: string, context: Record<string, string[]>): { d: Decision; allows: boolean; direct: boolean } {
  const trust = call.s.policies.get(role.trust, 'trust', `trust policy of ${arn}`)
  const who = authzPrincipal(call.principal)
  const facts = requestFacts(call.ctx.origin, call.auth, who, call.now.getTime())
  // Evaluated as a same-account resource policy, so the verdict is the trust policy's alone; the
  // identity side is decided separately below.
  const d = authorize(
    { principal: who, action, resources: { bucket: { arn, ownerAccount: who.accountId } }, context: { ...buildS3Context(facts), ...context } },
    { identity: [], ...(trust ? { bucket: { policy: trust } } : {}) },
    { explain: true },
  )
  // A trust statement naming only the account delegates to the identity side, which the engine
  // (given no identity policies here) reports as an implicit deny: read the trust policy's own result.
  const allows = d.effect === 'Allow' || (d.effect === 'ImplicitDeny' && d.explain?.[0]?.layers.some((l) => l.layer === 'bucket-policy' && l.result === 'Allow') === true)
  let direct = false
  for (const m of d.matched) {
    const st = m.layer === 'bucket-policy' && m.effect === 'Allow' ? trust?.statements[m.index] : undefined
    const p = st?.principal
    if (p && (p.wildcard || p.arns.has(who.arn) || (who.roleArn !== undefined && p.arns.has(who.roleArn)))) direct = true
  }
  return { d, allows, direct }
}

function checkAssume(call: ApiCall, role: RoleRec | undefined, arn: string, action: string, context: Record<string, string[]>): void {
  const deny = (): never => {
    throw accessDenied(call.principal, action, arn, '')
  }
  if (!role) deny()
  const trust = trustDecision(call, role!, arn, action, context)
  const identity = decide(call, call.principal, action, arn, { context })
  const sameAccount = call.principal.accountId === role!.account
  const ok = trust.allows && identity.effect !== 'ExplicitDeny' && (identity.effect === 'Allow' || (sameAccount && trust.direct))
  if (ok) return
  call.s.decisions.remember(call.ctx.requestId, { trust: trust.d, identity })
  deny()
}

/** Policy + PolicyArns → one session policy document (or undefined when none was passed). */
function sessionPolicy(call: ApiCall): string | undefined {
  const inline = call.params.opt('Policy')
  const arns = call.params.list('PolicyArns', 'arn')
  if (inline === undefined && arns.length === 0) return undefined
  if (arns.length > 10) validation('policyArns', `[${arns.length} ARNs]`, 'Member must have length less than or equal to 10')
  const statements: unknown[] = []
  const add = (text: string): void => {
    const doc = JSON.parse(text) as { Statement?: unknown }
    const st = doc.Statement
    statements.push(...(Array.isArray(st) ? st : st !== undefined ? [st] : []))
  }
  if (inline !== undefined) {
    if (inline.length > MAX_SESSION_POLICY_CHARS) validation('policy', inline.slice(0, 32) + '...', `Member must have length less than or equal to ${MAX_SESSION_POLICY_CHARS}`)
    checkPolicyDocument(call, inline, 'session')
    add(inline)
  }
  for (const arn of arns) {
    const doc = call.s.identities.managedDocument(arn)
    if (doc === undefined) throw s3Error('InvalidParameterValue', { message: `The policy ${arn} does not exist or is not attachable.` })
    add(doc)
  }
  return JSON.stringify({ Version: '2012-10-17', Statement: statements })
}

export const stsOps: Record<string, Op> = {
  // No permission is needed for GetCallerIdentity; even an explicit deny does not stop it.
  GetCallerIdentity: (call) => el('Arn', call.principal.arn) + el('UserId', call.principal.userId) + el('Account', call.principal.accountId),

  AssumeRole: async (call) => {
    const arn = call.params.req('RoleArn')
    const sessionName = call.params.req('RoleSessionName')
    if (!SESSION_NAME_RE.test(sessionName)) validation('roleSessionName', sessionName, 'Member must satisfy regular expression pattern: [\\w+=,.@-]*')
    const m = arn.match(ROLE_ARN_RE)
    if (!m) validation('roleArn', arn, 'Member must satisfy the pattern of an IAM role ARN')
    const duration = call.params.int('DurationSeconds') ?? 3600
    if (duration < 900) validation('durationSeconds', String(duration), 'Member must have value greater than or equal to 900')
    if (duration > 43200) validation('durationSeconds', String(duration), 'Member must have value less than or equal to 43200')
    const tags = call.params.tags()
    if (Object.keys(tags).length > 50) validation('tags', '[...]', 'Member must have length less than or equal to 50')
    const externalId = call.params.opt('ExternalId')
    const sourceIdentity = call.params.opt('SourceIdentity')

    const [, account, path, name] = m!
    const found = call.s.identities.store.roles.get(nameKey(account!, name!))
    const role = found && found.path === path ? found : undefined
    const context: Record<string, string[]> = { 'sts:rolesessionname': [sessionName], ...tagContext(tags) }
    if (externalId !== undefined) context['sts:externalid'] = [externalId]
    if (sourceIdentity !== undefined) context['sts:sourceidentity'] = [sourceIdentity]
    checkAssume(call, role, arn, 'sts:AssumeRole', context)
    if (Object.keys(tags).length > 0) checkAssume(call, role, arn, 'sts:TagSession', context)
    if (sourceIdentity !== undefined) checkAssume(call, role, arn, 'sts:SetSourceIdentity', context)
    const r = role!
    if (duration > r.maxSessionDuration) throw s3Error('ValidationError', { message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.' })
    if (call.principal.type === 'AssumedRole' && duration > CHAINED_MAX_SECONDS) {
      throw s3Error('ValidationError', { message: 'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.' })
    }
    const policy = sessionPolicy(call)

    const host = (call.ctx.req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
    const session: SessionRec = {
      id: randomId('ASIA', 16),
      account: r.account,
      role: r.name,
      sessionName,
      secret: randomSecret(),
      token: randomSessionToken(),
      issuedAt: iamDate(call.now),
      expiresAt: iamDate(new Date(call.now.getTime() + duration * 1000)),
      tags,
      callerArn: call.principal.arn,
      issuer: host === `sts.${call.s.world.dnsSuffix}` ? 'global' : (call.auth.region ?? 'us-east-1'),
    }
    if (policy !== undefined) session.sessionPolicy = policy
    if (sourceIdentity !== undefined) session.sourceIdentity = sourceIdentity
    await call.s.identities.mutate((st) => st.put('session', session))
    call.ctx.info.accessKeyId = session.id
    const partition = call.s.identities.partition
    const packed =
      policy !== undefined || Object.keys(tags).length > 0
        ? Math.min(100, Math.ceil((((policy?.length ?? 0) + JSON.stringify(tags).length) * 100) / MAX_SESSION_POLICY_CHARS / 2))
        : undefined
    return (
      node('Credentials', el('AccessKeyId', session.id), el('SecretAccessKey', session.secret), el('SessionToken', session.token), el('Expiration', session.expiresAt)) +
      node('AssumedRoleUser', el('AssumedRoleId', `${r.id}:${sessionName}`), el('Arn', sessionArn(partition, r.account, r.name, sessionName))) +
      el('PackedPolicySize', packed) +
      el('SourceIdentity', sourceIdentity)
    )
  },
}
