/**
 * The account ids of the worlds the tests start from (examples/seed.yaml, examples/seed-setup.yaml,
 * examples/active-passive.yaml), named once so a test says which account it means.
 */

/** Owns the seed MRAP (`mfzwi23gnjvgw.mrap`), both DOC-EXAMPLE buckets and the `admin` user. */
export const SEED_ACCOUNT = '123456789012'

/** The seed's second account: `partner` (no identity grants) and, in `testWorld()`, `partner-admin`. */
export const PARTNER_ACCOUNT = '444455556666'

/** The account of examples/active-passive.yaml; in the seed worlds, an account nobody declared. */
export const THIRD_ACCOUNT = '111122223333'

/** The MRAP ARN of `alias` owned by `account`: the region field is empty (docs/aws/mrap.md §Naming). */
export function mrapArn(alias: string, account = SEED_ACCOUNT): string {
  return `arn:aws:s3::${account}:accesspoint/${alias}`
}
