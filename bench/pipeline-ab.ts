/**
 * bench/pipeline.ts for two builds in one process: the same presigned GET of 1 KiB driven through
 * each build's handleRequest() (own server, own data dir), in short alternating batches (ABBA order),
 * CPU µs per request per batch. On a shared machine the load of other processes moves a run by
 * ±30%; alternating batches of a few ms put both builds under the same load, so the paired ratio
 * (b / a per batch pair) is what a change is judged by. An A/A run (the same build twice) shows the
 * harness's own spread.
 *
 *   AB_DISTS=<old>/dist,<new>/dist node --import tsx bench/pipeline-ab.ts
 *   AB_N (requests per batch, default 2000), AB_ROUNDS (batch pairs, default 30)
 *
 * Each dist is a compiled build (`npx tsc -p tsconfig.build.json` in a git worktree of the commit).
 */

import { resolve } from 'node:path'
import { type InProcessGet, inProcessGet } from './pipeline-harness.js'

const dists = (process.env.AB_DISTS ?? '').split(',').filter(Boolean)
if (dists.length !== 2) throw new Error('AB_DISTS must name two compiled builds: <a>/dist,<b>/dist')
const N = Number(process.env.AB_N ?? 2000)
const ROUNDS = Number(process.env.AB_ROUNDS ?? 30)
const quantile = (xs: number[], f: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))]!
const r1 = (x: number): number => Math.round(x * 10) / 10
const r3 = (x: number): number => Math.round(x * 1000) / 1000

const builds: InProcessGet[] = [await inProcessGet(resolve(dists[0]!)), await inProcessGet(resolve(dists[1]!))]
const per: number[][] = [[], []]
try {
  for (let r = 0; r < ROUNDS; r++) {
    // ABBA: neither build always runs first after the other's garbage.
    const order = r % 2 === 0 ? [0, 1] : [1, 0]
    for (const i of order) per[i]!.push(await builds[i]!.run(N, 16))
  }
} finally {
  for (const b of builds) await b.close()
}
for (let i = 0; i < 2; i++) {
  const xs = per[i]!
  process.stdout.write(
    `${JSON.stringify({ bench: 'pipeline-ab', build: dists[i], batches: ROUNDS, perBatch: N, medianUs: r1(quantile(xs, 0.5)), p10Us: r1(quantile(xs, 0.1)), p90Us: r1(quantile(xs, 0.9)) })}\n`,
  )
}
const ratios = per[0]!.map((a, r) => per[1]![r]! / a)
process.stdout.write(
  `${JSON.stringify({ bench: 'pipeline-ab', pairedRatio: { median: r3(quantile(ratios, 0.5)), p25: r3(quantile(ratios, 0.25)), p75: r3(quantile(ratios, 0.75)) } })}\n`,
)
