/**
 * The storage contract (src/storage/contract) against the upstream backend on a real Ceph RGW
 * (Pacific, from Debian): everything the embedded store promises, through an S3 engine.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before } from 'node:test'
import { runObjectStoreContract } from '../../src/storage/contract/object-store.contract.js'
import { UpstreamObjectStore } from '../../src/storage/upstream/upstream-object-store.js'
import { type CephCluster, startCeph } from '../helpers/ceph.js'

const state = mkdtempSync(join(tmpdir(), 'mrap-upstream-contract-'))
let ceph: CephCluster
const ready = startCeph('contract').then((c) => {
  ceph = c
  return c
})
before(async () => {
  await ready
})
after(async () => {
  await ceph?.down()
  rmSync(state, { recursive: true, force: true })
})

runObjectStoreContract('upstream on Ceph RGW', async () => {
  const c = await ready
  return new UpstreamObjectStore({ region: 'eu-west-1', engine: c.config(), stateDir: join(state, 'eu-west-1') })
})
