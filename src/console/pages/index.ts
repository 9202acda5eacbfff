/**
 * @module Every page of the console, in one list the server mounts and the navigation shows (each
 * page's `nav.order` sorts them). Add a page with one import and one entry.
 */
import type { ConsolePage } from '../page.js'
import { accessPage } from './access.js'
import { bucketsPage } from './buckets.js'
import { iamPage } from './iam.js'
import { mrapsPage } from './mraps.js'
import { overviewPage } from './overview.js'
import { requestsPage } from './requests.js'
import { vpcsPage } from './vpcs.js'

export const PAGES: ConsolePage[] = [overviewPage, bucketsPage, mrapsPage, vpcsPage, iamPage, accessPage, requestsPage]
