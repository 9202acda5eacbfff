/**
 * KMS grants with @aws-sdk/client-kms and @aws-sdk/client-s3: CreateGrant, ListGrants,
 * ListRetirableGrants, RetireGrant, RevokeGrant, and grants counted beside key policies and IAM by
 * the KMS API and by S3's SSE-KMS path (and `mrap explain`'s KMS cell).
 *
 * AWS's behaviour (docs/decisions/encryption.md §KMS): the AWS KMS API Reference, "CreateGrant",
 * "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant"
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html and siblings: shapes,
 * Limit 1–100, Name idempotency, InvalidGrantTokenException, InvalidMarkerException,
 * DryRunOperationException); "Grants in AWS KMS"
 * (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html: a grant allows, never denies);
 * "Creating grants" (https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html:
 * EncryptionContextSubset/Equals, CreateGrant from a grant only as strict or stricter); "Retiring
 * and revoking grants" (https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html);
 * the kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal and kms:GrantIsForAWSResource
 * condition keys ("AWS KMS condition keys",
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
 *
 * `reader` (123456789012) has no identity policy: under the default key policy, which delegates to
 * IAM, it may use a key only through a grant.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  CreateGrantCommand,
  type CreateGrantCommandInput,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import { CreateBucketCommand, GetObjectCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { runExplain } from '../../src/cli/explain.js'
import { CliSandbox, cliJson, runAws } from '../helpers/aws-cli.js'
import { createKey, kmsClient, kmsDefaultEncryption } from '../helpers/kms-keys.js'
import { ADMIN, bucketName, bytesOf, failure, PARTNER_ADMIN, READER, startTestServer, type TestServer } from '../helpers/server.js'

const OWNER = '123456789012'
const ADMIN_ARN = `arn:aws:iam::${OWNER}:user/admin`
const READER_ARN = `arn:aws:iam::${OWNER}:user/reader`
const ROOT_ARN = `arn:aws:iam::${OWNER}:root`

let s: TestServer
before(async () => {
  s = await startTestServer()
})
after(async () => {
  await s.stop()
})

const kms = (creds = ADMIN) => kmsClient(s, creds)
const grant = (input: Omit<CreateGrantCommandInput, 'KeyId'> & { KeyId: string }, creds = ADMIN) => kms(creds).send(new CreateGrantCommand(input))

describe('KMS grants: the lifecycle', () => {
  test('CreateGrant returns a grant id and a token; ListGrants shows it, filters by GrantId and GranteePrincipal; a Name makes a retry the same grant', async () => {
    const key = await createKey(s, 'grants lifecycle')
    const made = await grant({
      KeyId: key.id,
      GranteePrincipal: READER_ARN,
      RetiringPrincipal: ADMIN_ARN,
      Operations: ['Decrypt', 'DescribeKey'],
      Constraints: { EncryptionContextSubset: { app: 'a' } },
      Name: 'reader-decrypt',
    })
    assert.match(made.GrantId!, /^[0-9a-f]{64}$/)
    assert.ok(made.GrantToken && made.GrantToken.length > 20, 'a grant token')
    // The same request again with its Name: the same grant, a new token (CreateGrant, Name).
    const again = await grant({
      KeyId: key.arn,
      GranteePrincipal: READER_ARN,
      RetiringPrincipal: ADMIN_ARN,
      Operations: ['DescribeKey', 'Decrypt'],
      Constraints: { EncryptionContextSubset: { app: 'a' } },
      Name: 'reader-decrypt',
    })
    assert.equal(again.GrantId, made.GrantId)
    assert.notEqual(again.GrantToken, made.GrantToken)
    // Without a Name every request is a new grant.
    const other = await grant({ KeyId: key.id, GranteePrincipal: ADMIN_ARN, Operations: ['Encrypt'] })
    assert.notEqual(other.GrantId, made.GrantId)

    const listed = await kms().send(new ListGrantsCommand({ KeyId: key.id }))
    assert.equal(listed.Truncated, false)
    assert.equal(listed.Grants!.length, 2)
    const entry = listed.Grants!.find((g) => g.GrantId === made.GrantId)!
    assert.equal(entry.KeyId, key.arn)
    assert.equal(entry.Name, 'reader-decrypt')
    assert.equal(entry.GranteePrincipal, READER_ARN)
    assert.equal(entry.RetiringPrincipal, ADMIN_ARN)
    assert.equal(entry.IssuingAccount, ROOT_ARN)
    assert.deepEqual(entry.Operations, ['Decrypt', 'DescribeKey'])
    assert.deepEqual(entry.Constraints, { EncryptionContextSubset: { app: 'a' } })
    assert.ok(entry.CreationDate instanceof Date && Math.abs(entry.CreationDate.getTime() - Date.now()) < 60_000, 'CreationDate is now')
    const byId = await kms().send(new ListGrantsCommand({ KeyId: key.arn, GrantId: other.GrantId }))
    assert.deepEqual(
      byId.Grants!.map((g) => g.GrantId),
      [other.GrantId],
    )
    const byGrantee = await kms().send(new ListGrantsCommand({ KeyId: key.id, GranteePrincipal: READER_ARN }))
    assert.deepEqual(
      byGrantee.Grants!.map((g) => g.GrantId),
      [made.GrantId],
    )
  })

  test('ListGrants pages with Limit and Marker; a bad Limit is ValidationException, a bad Marker InvalidMarkerException', async () => {
    const key = await createKey(s, 'grants paging')
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt'] })).GrantId!)
    const seen: string[] = []
    let marker: string | undefined
    let pages = 0
    for (;;) {
      const p = await kms().send(new ListGrantsCommand({ KeyId: key.id, Limit: 2, ...(marker ? { Marker: marker } : {}) }))
      pages++
      assert.ok(p.Grants!.length <= 2, 'at most Limit grants')
      seen.push(...p.Grants!.map((g) => g.GrantId!))
      if (!p.Truncated) {
        assert.equal(p.NextMarker, undefined)
        break
      }
      assert.ok(p.NextMarker, 'a truncated page has a NextMarker')
      marker = p.NextMarker
      assert.ok(pages < 10, 'paging ends')
    }
    assert.equal(pages, 3)
    assert.deepEqual([...seen].sort(), [...ids].sort())
    assert.equal(new Set(seen).size, 5)
    assert.equal((await failure(() => kms().send(new ListGrantsCommand({ KeyId: key.id, Limit: 0 })))).name, 'ValidationException')
    assert.equal((await failure(() => kms().send(new ListGrantsCommand({ KeyId: key.id, Limit: 101 })))).name, 'ValidationException')
    assert.equal((await failure(() => kms().send(new ListGrantsCommand({ KeyId: key.id, Marker: 'not-a-marker' })))).name, 'InvalidMarkerException')
  })

  test('RetireGrant by token (retiring principal) and by KeyId+GrantId (grantee allowed RetireGrant); RevokeGrant; the errors', async () => {
    const key = await createKey(s, 'grants retire')
    const byToken = await grant({ KeyId: key.id, GranteePrincipal: ADMIN_ARN, RetiringPrincipal: READER_ARN, Operations: ['Encrypt'] })
    const byGrantee = await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt', 'RetireGrant'] })
    const noRetire = await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt'] })
    const toRevoke = await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Encrypt'] })

    // Retiring principals and retirable grantees list their grants in the account and Region.
    const retirable = await kms().send(new ListRetirableGrantsCommand({ RetiringPrincipal: READER_ARN }))
    assert.ok(
      retirable.Grants!.some((g) => g.GrantId === byToken.GrantId && g.KeyId === key.arn),
      'the grant naming reader as retiring principal',
    )
    assert.ok(!retirable.Grants!.some((g) => g.GrantId === byGrantee.GrantId), 'only grants that name it as retiring principal')

    // reader is the retiring principal: its token retires it, without any IAM policy.
    await kms(READER).send(new RetireGrantCommand({ GrantToken: byToken.GrantToken }))
    // The grantee retires a grant that allows RetireGrant …
    await kms(READER).send(new RetireGrantCommand({ KeyId: key.arn, GrantId: byGrantee.GrantId }))
    // … but not one that does not.
    const refused = await failure(() => kms(READER).send(new RetireGrantCommand({ KeyId: key.arn, GrantId: noRetire.GrantId })))
    assert.equal(refused.name, 'AccessDeniedException')
    assert.match(refused.message, /kms:RetireGrant/)
    // Another account's administrator is none of them.
    assert.equal((await failure(() => kms(PARTNER_ADMIN).send(new RetireGrantCommand({ KeyId: key.arn, GrantId: noRetire.GrantId })))).name, 'AccessDeniedException')
    // The account that made the grant may retire it (admin: IAM allows kms:RetireGrant).
    await kms().send(new RetireGrantCommand({ KeyId: key.arn, GrantId: noRetire.GrantId }))

    const left = (await kms().send(new ListGrantsCommand({ KeyId: key.id }))).Grants!.map((g) => g.GrantId)
    assert.deepEqual(left, [toRevoke.GrantId])
    // Gone: NotFoundException, by id and by its token.
    assert.equal((await failure(() => kms().send(new RetireGrantCommand({ KeyId: key.arn, GrantId: byGrantee.GrantId })))).name, 'NotFoundException')
    assert.equal((await failure(() => kms().send(new RetireGrantCommand({ GrantToken: byToken.GrantToken })))).name, 'NotFoundException')
    const badToken = await failure(() => kms().send(new RetireGrantCommand({ GrantToken: 'AQpAM2RhZTk1MGMyNTk2ZmZmMzEy' })))
    assert.equal(badToken.name, 'InvalidGrantTokenException')
    assert.equal((await failure(() => kms().send(new RetireGrantCommand({ KeyId: key.arn })))).name, 'ValidationException')

    // RevokeGrant: kms:RevokeGrant on the key (admin through the default key policy and IAM); DryRun changes nothing.
    assert.equal((await failure(() => kms(READER).send(new RevokeGrantCommand({ KeyId: key.id, GrantId: toRevoke.GrantId })))).name, 'AccessDeniedException')
    const dry = await failure(() => kms().send(new RevokeGrantCommand({ KeyId: key.id, GrantId: toRevoke.GrantId, DryRun: true })))
    assert.equal(dry.name, 'DryRunOperationException')
    assert.equal(dry.$metadata.httpStatusCode, 412)
    assert.equal((await kms().send(new ListGrantsCommand({ KeyId: key.id }))).Grants!.length, 1)
    await kms().send(new RevokeGrantCommand({ KeyId: key.id, GrantId: toRevoke.GrantId }))
    assert.equal((await kms().send(new ListGrantsCommand({ KeyId: key.id }))).Grants!.length, 0)
    assert.equal((await failure(() => kms().send(new RevokeGrantCommand({ KeyId: key.id, GrantId: toRevoke.GrantId })))).name, 'NotFoundException')
    assert.equal((await failure(() => kms().send(new RevokeGrantCommand({ KeyId: key.id, GrantId: 'not-a-grant-id' })))).name, 'InvalidGrantIdException')
    const noKey = await failure(() => kms().send(new RevokeGrantCommand({ KeyId: '11111111-2222-3333-4444-555555555555', GrantId: toRevoke.GrantId })))
    assert.equal(noKey.name, 'NotFoundException')
  })

  test('CreateGrant refuses what AWS refuses: unknown key, alias, unknown principal, operations a symmetric key has not, service principals', async () => {
    const key = await createKey(s, 'grants errors')
    const err = (input: Partial<CreateGrantCommandInput>) =>
      failure(() => grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt'], ...input } as CreateGrantCommandInput & { KeyId: string }))
    assert.equal((await err({ KeyId: '11111111-2222-3333-4444-555555555555' })).name, 'NotFoundException')
    assert.equal((await err({ KeyId: 'alias/aws/s3' })).name, 'InvalidArnException')
    assert.equal((await err({ GranteePrincipal: `arn:aws:iam::${OWNER}:user/nobody` })).name, 'InvalidArnException')
    assert.equal((await err({ GranteePrincipal: 'not a principal' })).name, 'ValidationException')
    assert.equal((await err({ Operations: ['Sign'] })).name, 'ValidationException')
    assert.equal((await err({ Operations: ['Bogus' as 'Decrypt'] })).name, 'ValidationException')
    assert.equal((await err({ Operations: [] })).name, 'ValidationException')
    assert.equal((await err({ Name: 'has spaces' })).name, 'ValidationException')
    const pairs = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']))
    assert.equal((await err({ Constraints: { EncryptionContextSubset: pairs } })).name, 'ValidationException')
    const service = await err({
      GranteePrincipal: undefined,
      GranteeServicePrincipal: 'dynamodb.amazonaws.com',
      Constraints: { SourceArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/T' },
    })
    assert.equal(service.name, 'NotImplemented')
    assert.equal(service.$metadata.httpStatusCode, 501)
    assert.equal((await err({ GrantTokens: ['not-a-token'] })).name, 'InvalidGrantTokenException')
    // reader has no permission of its own to make grants.
    assert.equal((await failure(() => grant({ KeyId: key.arn, GranteePrincipal: READER_ARN, Operations: ['Decrypt'] }, READER))).name, 'AccessDeniedException')
    assert.equal((await kms().send(new ListGrantsCommand({ KeyId: key.id }))).Grants!.length, 0, 'nothing was made')
  })
})

describe('KMS grants: what a grant allows', () => {
  test('a grantee with no policy of its own decrypts through a grant, only with the constraint context and only the granted operations', async () => {
    const key = await createKey(s, 'grants use')
    const blob = (await kms().send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('for reader'), EncryptionContext: { app: 'a', run: '1' } }))).CiphertextBlob!
    const other = (await kms().send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('not for reader'), EncryptionContext: { app: 'b' } }))).CiphertextBlob!
    const before = await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { app: 'a', run: '1' } })))
    assert.equal(before.name, 'AccessDeniedException')

    const g = await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { app: 'a' } } })
    const dec = await kms(READER).send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { app: 'a', run: '1' }, GrantTokens: [g.GrantToken!] }))
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'for reader')
    // Another context: the constraint does not hold, so no grant allows it (refused before the cryptography).
    const mismatch = await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: other, EncryptionContext: { app: 'b' } })))
    assert.equal(mismatch.name, 'AccessDeniedException')
    assert.match(mismatch.message, /kms:Decrypt/)
    // Operations the grant does not name.
    assert.equal(
      (await failure(() => kms(READER).send(new EncryptCommand({ KeyId: key.arn, Plaintext: Buffer.from('x'), EncryptionContext: { app: 'a' } })))).name,
      'AccessDeniedException',
    )
    assert.equal((await failure(() => kms(READER).send(new DescribeKeyCommand({ KeyId: key.arn })))).name, 'AccessDeniedException')
    // A token this server did not issue.
    assert.equal(
      (await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { app: 'a', run: '1' }, GrantTokens: ['bogus'] })))).name,
      'InvalidGrantTokenException',
    )

    // EncryptionContextEquals: exactly the pairs, no more.
    const eq = await createKey(s, 'grants equals')
    const eqBlob = (await kms().send(new EncryptCommand({ KeyId: eq.id, Plaintext: Buffer.from('eq'), EncryptionContext: { app: 'a', run: '1' } }))).CiphertextBlob!
    await grant({ KeyId: eq.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: { app: 'a' } } })
    assert.equal((await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: eqBlob, EncryptionContext: { app: 'a', run: '1' } })))).name, 'AccessDeniedException')

    // Revoked: refused again.
    await kms().send(new RevokeGrantCommand({ KeyId: key.id, GrantId: g.GrantId }))
    assert.equal((await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { app: 'a', run: '1' } })))).name, 'AccessDeniedException')
  })

  test('an explicit Deny in the key policy beats a grant', async () => {
    const key = await createKey(s, 'grants deny', {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT_ARN }, Action: 'kms:*', Resource: '*' },
        { Sid: 'NoReaderDecrypt', Effect: 'Deny', Principal: { AWS: READER_ARN }, Action: 'kms:Decrypt', Resource: '*' },
      ],
    })
    const blob = (await kms().send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') }))).CiphertextBlob!
    await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt', 'DescribeKey'] })
    const denied = await failure(() => kms(READER).send(new DecryptCommand({ CiphertextBlob: blob })))
    assert.equal(denied.name, 'AccessDeniedException')
    assert.match(denied.message, /explicit deny in a resource-based policy/)
    // The same grant's other operation, which the Deny does not name, is allowed.
    assert.equal((await kms(READER).send(new DescribeKeyCommand({ KeyId: key.arn }))).KeyMetadata!.KeyId, key.id)
  })

  test('a grant to an account root covers the principals of that account whose IAM policies allow the action, as a key policy naming the account does', async () => {
    // No key policy statement for the account: IAM alone would not let admin use the key.
    const key = await createKey(s, 'grants account', {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Manage', Effect: 'Allow', Principal: { AWS: ADMIN_ARN }, Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:DescribeKey'], Resource: '*' }],
    })
    const encrypt = (creds: typeof ADMIN) => kms(creds).send(new EncryptCommand({ KeyId: key.arn, Plaintext: Buffer.from('x') }))
    assert.equal((await failure(() => encrypt(ADMIN))).name, 'AccessDeniedException')
    await grant({ KeyId: key.id, GranteePrincipal: ROOT_ARN, Operations: ['Encrypt'] })
    assert.ok((await encrypt(ADMIN)).CiphertextBlob, 'admin: its IAM policy allows kms:Encrypt')
    assert.equal((await failure(() => encrypt(READER))).name, 'AccessDeniedException', 'reader: no IAM policy')
    // ListRetirableGrants is for principals of the caller's own account.
    const elsewhere = await failure(() => kms(PARTNER_ADMIN).send(new ListRetirableGrantsCommand({ RetiringPrincipal: READER_ARN })))
    assert.equal(elsewhere.name, 'AccessDeniedException')
  })

  test('CreateGrant through a grant: only a subset of its operations and constraints at least as strict', async () => {
    const key = await createKey(s, 'grants child')
    await grant({ KeyId: key.id, GranteePrincipal: READER_ARN, Operations: ['Decrypt', 'CreateGrant'], Constraints: { EncryptionContextSubset: { app: 'a' } } })
    const child = (input: Partial<CreateGrantCommandInput>) =>
      grant({ KeyId: key.arn, GranteePrincipal: ADMIN_ARN, Operations: ['Decrypt'], ...input } as CreateGrantCommandInput & { KeyId: string }, READER)
    await child({ Constraints: { EncryptionContextSubset: { app: 'a', team: 't' } } })
    await child({ Constraints: { EncryptionContextEquals: { app: 'a' } } })
    assert.equal((await failure(() => child({ Constraints: { EncryptionContextSubset: { app: 'a' } }, Operations: ['Encrypt'] }))).name, 'AccessDeniedException')
    assert.equal((await failure(() => child({}))).name, 'AccessDeniedException', 'no constraint is less strict than the parent')
    assert.equal((await failure(() => child({ Constraints: { EncryptionContextSubset: { team: 't' } } }))).name, 'AccessDeniedException')
    assert.equal((await kms().send(new ListGrantsCommand({ KeyId: key.id, GranteePrincipal: ADMIN_ARN }))).Grants!.length, 2)
  })

  test('the grant condition keys in a key policy: kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal, kms:GrantIsForAWSResource', async () => {
    const manage = ['kms:DescribeKey', 'kms:ListGrants', 'kms:RevokeGrant', 'kms:PutKeyPolicy', 'kms:GetKeyPolicy']
    const policy = (grantStatement: object) => ({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Manage', Effect: 'Allow', Principal: { AWS: ADMIN_ARN }, Action: manage, Resource: '*' }, grantStatement],
    })
    const key = await createKey(
      s,
      'grants conditions',
      policy({
        Sid: 'GrantDecryptToReaderOnly',
        Effect: 'Allow',
        Principal: { AWS: ADMIN_ARN },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: {
          'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'DescribeKey'] },
          StringEquals: { 'kms:GranteePrincipal': READER_ARN, 'kms:RetiringPrincipal': ADMIN_ARN },
          Bool: { 'kms:GrantIsForAWSResource': 'false' },
        },
      }),
    )
    const ok = { KeyId: key.id, GranteePrincipal: READER_ARN, RetiringPrincipal: ADMIN_ARN, Operations: ['Decrypt' as const] }
    await grant(ok)
    assert.equal((await failure(() => grant({ ...ok, Operations: ['Decrypt', 'Encrypt'] }))).name, 'AccessDeniedException', 'kms:GrantOperations')
    assert.equal((await failure(() => grant({ ...ok, GranteePrincipal: ADMIN_ARN }))).name, 'AccessDeniedException', 'kms:GranteePrincipal')
    assert.equal((await failure(() => grant({ ...ok, RetiringPrincipal: READER_ARN }))).name, 'AccessDeniedException', 'kms:RetiringPrincipal')
    // A direct call is never one an AWS service made for the caller: kms:GrantIsForAWSResource is false.
    const forServices = await createKey(
      s,
      'grants for aws resources',
      policy({ Effect: 'Allow', Principal: { AWS: ADMIN_ARN }, Action: 'kms:CreateGrant', Resource: '*', Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } }),
    )
    assert.equal((await failure(() => grant({ ...ok, KeyId: forServices.id }))).name, 'AccessDeniedException', 'kms:GrantIsForAWSResource')
  })
})

describe('KMS grants and SSE-KMS', () => {
  test('a principal whose only access to the key is a Decrypt grant constrained to the object GETs it; other objects and a revoked grant are refused; explain names the grant', async () => {
    const key = await createKey(s, 'grants sse-kms')
    const bucket = bucketName('grant')
    const admin = s.client()
    await admin.send(new CreateBucketCommand({ Bucket: bucket }))
    await admin.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: READER_ARN }, Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
        }),
      }),
    )
    await kmsDefaultEncryption(s, bucket, key.arn)
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'granted', Body: 'secret one' }))
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'other', Body: 'secret two' }))
    const reader = s.client(READER)

    const before = await failure(() => reader.send(new GetObjectCommand({ Bucket: bucket, Key: 'granted' })))
    assert.equal(before.$metadata.httpStatusCode, 403)
    assert.match(before.message, /kms:Decrypt/)

    const g = await grant({
      KeyId: key.id,
      GranteePrincipal: READER_ARN,
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { 'aws:s3:arn': `arn:aws:s3:::${bucket}/granted` } },
    })
    const got = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: 'granted' }))
    assert.equal((await bytesOf(got)).toString(), 'secret one')
    assert.equal(got.ServerSideEncryption, 'aws:kms')
    // The constraint names one object: another object's context does not hold.
    assert.equal((await failure(() => reader.send(new GetObjectCommand({ Bucket: bucket, Key: 'other' })))).$metadata.httpStatusCode, 403)

    // explain's KMS cell, through the server's own judgeKms: allowed, and by which grant.
    const out = await runExplain({ dataDir: s.dataDir, as: 'reader', action: 's3:GetObject', bucket, key: 'granted', json: true }, false)
    const cell = out.results[0]!.routes[0]!.kms!
    assert.equal(cell.result, 'allow')
    assert.equal(cell.statement, 'grant')
    assert.match(cell.detail!, new RegExp(`allowed by grant ${g.GrantId}`))
    const otherCell = (await runExplain({ dataDir: s.dataDir, as: 'reader', action: 's3:GetObject', bucket, key: 'other', json: true }, false)).results[0]!.routes[0]!.kms!
    assert.equal(otherCell.result, 'no-match')

    await kms().send(new RevokeGrantCommand({ KeyId: key.id, GrantId: g.GrantId }))
    const after = await failure(() => reader.send(new GetObjectCommand({ Bucket: bucket, Key: 'granted' })))
    assert.equal(after.$metadata.httpStatusCode, 403)
    assert.match(after.message, /kms:Decrypt/)
  })
})

describe('KMS grants with the Debian AWS CLI', () => {
  test('aws kms create-grant, list-grants, list-retirable-grants, retire-grant --grant-token, revoke-grant', async () => {
    const key = await createKey(s, 'grants cli')
    const cli = new CliSandbox('mrap-kms-grants-cli')
    try {
      const env = cli.env({ credentials: ADMIN, region: 'us-east-1', direct: true })
      const aws = (...args: string[]) => runAws(['--endpoint-url', s.endpoint, ...args], { env })
      const made = await aws(
        'kms',
        'create-grant',
        '--key-id',
        key.id,
        '--grantee-principal',
        READER_ARN,
        '--retiring-principal',
        ADMIN_ARN,
        '--operations',
        'Decrypt',
        'DescribeKey',
        '--constraints',
        'EncryptionContextSubset={Department=IT}',
        '--name',
        'cli-grant',
      )
      assert.equal(made.code, 0, made.stderr)
      const { GrantId, GrantToken } = cliJson(made.stdout) as { GrantId: string; GrantToken: string }
      const listed = await aws('kms', 'list-grants', '--key-id', key.arn)
      assert.equal(listed.code, 0, listed.stderr)
      const grants = (cliJson(listed.stdout) as { Grants: Record<string, unknown>[] }).Grants
      assert.equal(grants.length, 1)
      assert.equal(grants[0]!.GrantId, GrantId)
      assert.deepEqual(grants[0]!.Constraints, { EncryptionContextSubset: { Department: 'IT' } })
      const retirable = await aws('kms', 'list-retirable-grants', '--retiring-principal', ADMIN_ARN)
      assert.equal(retirable.code, 0, retirable.stderr)
      assert.ok(
        (cliJson(retirable.stdout) as { Grants: { GrantId: string }[] }).Grants.some((g) => g.GrantId === GrantId),
        'listed as retirable by admin',
      )
      const retired = await aws('kms', 'retire-grant', '--grant-token', GrantToken)
      assert.equal(retired.code, 0, retired.stderr)
      const again = await aws('kms', 'revoke-grant', '--key-id', key.id, '--grant-id', GrantId)
      assert.notEqual(again.code, 0)
      assert.match(again.stderr, /NotFoundException/)
    } finally {
      cli.dispose()
    }
  })
})

/** Grants of a key that is deleted go with it ("AWS KMS deletes the KMS key and all AWS KMS data associated with it", ScheduleKeyDeletion). */
describe('KMS grants of a deleted key', () => {
  let offset = 0
  let t: TestServer
  before(async () => {
    t = await startTestServer({ clock: () => new Date(Date.now() + offset) })
  })
  after(async () => {
    await t.stop()
  })
  const client = (creds = ADMIN) => new KMSClient({ endpoint: t.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1, systemClockOffset: offset })

  test('after the waiting period the key and its grants are gone: not listed as retirable, not retirable, allowing nothing', async () => {
    const k = (await client().send(new CreateKeyCommand({}))).KeyMetadata!
    const g = await client().send(new CreateGrantCommand({ KeyId: k.KeyId, GranteePrincipal: ADMIN_ARN, RetiringPrincipal: READER_ARN, Operations: ['Decrypt'] }))
    const retirable = async () => (await client().send(new ListRetirableGrantsCommand({ RetiringPrincipal: READER_ARN }))).Grants!.map((x) => x.GrantId)
    assert.deepEqual(await retirable(), [g.GrantId])
    await client().send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 7 }))
    // Pending deletion: the grant is still there (ListGrants works in every key state).
    assert.equal((await client().send(new ListGrantsCommand({ KeyId: k.KeyId }))).Grants!.length, 1)
    offset += 8 * 86_400_000
    assert.equal((await failure(() => client().send(new ListGrantsCommand({ KeyId: k.KeyId })))).name, 'NotFoundException')
    assert.deepEqual(await retirable(), [], 'a deleted key has no retirable grants')
    assert.equal((await failure(() => client(READER).send(new RetireGrantCommand({ GrantToken: g.GrantToken })))).name, 'NotFoundException')
  })
})
