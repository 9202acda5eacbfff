/**
 * @module ARN patterns: matched segment by segment (partition, service, region, account,
 * resource), so a wildcard in one segment never spans a colon, and an empty segment (the
 * region of an MRAP ARN, `arn:aws:s3::123456789012:accesspoint/x.mrap`) matches only an empty
 * segment or a wildcard. The resource part (after the fifth colon) may contain colons.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 */
import type { ArnPattern, Glob, PatternText } from './types.js'
import { activeWildcards, compileGlob, matchGlob, startsAt } from './wildcard.js'

const COLON = 58

/** Compiles an ARN-shaped pattern (or `*`). */
export function compileArnPattern(src: PatternText): ArnPattern {
  if (src.text === '*' && src.wild[0] === 1) return { raw: src.text, any: true, segments: [], head: null }
  const segments: Glob[] = []
  let from = 0
  for (let i = 0; i < src.text.length && segments.length < 5; i++) {
    if (src.text.charCodeAt(i) === COLON) {
      segments.push(compileGlob({ text: src.text.slice(from, i), wild: src.wild.subarray(from, i) }))
      from = i + 1
    }
  }
  segments.push(compileGlob({ text: src.text.slice(from), wild: src.wild.subarray(from) }))
  const exactHead = segments.length === 6 && segments.slice(0, 5).every((g) => g.shape === 'exact')
  return { raw: src.text, any: false, segments, head: exactHead ? src.text.slice(0, from) : null }
}

export function arnPatternOf(text: string): ArnPattern {
  return compileArnPattern(activeWildcards(text))
}

/** True when `arn` matches the pattern. Allocation-free. */
export function matchArn(p: ArnPattern, arn: string): boolean {
  if (p.any) return true
  // The head holds exactly five colons, so a prefix match puts the ARN's first five there too.
  if (p.head !== null) return startsAt(arn, p.head, 0) && matchGlob(p.segments[5] as Glob, arn, p.head.length, arn.length)
  const segs = p.segments
  const last = segs.length - 1
  let pos = 0
  for (let i = 0; i < last; i++) {
    const end = arn.indexOf(':', pos)
    if (end === -1) return false
    if (!matchGlob(segs[i] as Glob, arn, pos, end)) return false
    pos = end + 1
  }
  // A pattern with fewer than six segments lets its last segment match the rest of the ARN.
  return matchGlob(segs[last] as Glob, arn, pos, arn.length)
}

/** Splits an ARN into its parts; undefined when it does not have six colon-separated parts. */
export function parseArn(arn: string): { partition: string; service: string; region: string; account: string; resource: string } | undefined {
  const parts = arn.split(':')
  if (parts.length < 6 || parts[0] !== 'arn') return undefined
  return {
    partition: parts[1] as string,
    service: parts[2] as string,
    region: parts[3] as string,
    account: parts[4] as string,
    resource: parts.slice(5).join(':'),
  }
}

/** An S3 bucket's ARN, or an object's (`arn:<partition>:s3:::bucket/key`), in the world's partition. */
export function bucketArn(partition: string, bucket: string, key?: string): string {
  return key === undefined ? `arn:${partition}:s3:::${bucket}` : `arn:${partition}:s3:::${bucket}/${key}`
}
