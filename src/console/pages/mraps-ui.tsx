/**
 * @module Pieces the MRAP, VPC and IAM pages share: a call that keeps an SDK error as a value (the
 * page renders AWS's refusal instead of failing), tabs whose state lives in the query string, copy
 * buttons and a labelled JSON policy editor with its write-time error beside it.
 */
import type { ComponentChildren } from 'preact'
import { toApiError } from '../api.js'
import { ApiErrorBox, href as consoleHref, DataTable } from '../components.js'
import type { ConsoleContext } from '../page.js'

export type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** Runs one API call; a refusal is a value the page shows next to what it concerns. */
export async function attempt<T>(call: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await call() }
  } catch (error) {
    return { ok: false, error }
  }
}

/** The error code an SDK error carries (its `name`), or undefined for anything else. */
export function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string' ? (error as { name: string }).name : undefined
}

/** A path segment as the page sees it; a malformed escape is kept as typed (the name check refuses it). */
export function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** The shared `href`, leaving out empty values too (these pages' forms send empty fields). */
export function href(ctx: ConsoleContext, path: string, query: Record<string, string | undefined> = {}): string {
  return consoleHref(ctx, path, Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '')))
}

export interface TabDef {
  id: string
  label: string
}

/**
 * ARIA tabs (Authoring Practices' tab pattern) made of links: each tab is a bookmarkable URL, so
 * the page works without script and the browser's history follows the tabs.
 */
export function Tabs(props: { label: string; tabs: TabDef[]; current: string; link: (id: string) => string; children: ComponentChildren }) {
  return (
    <div class="c2-tabs">
      <div role="tablist" aria-label={props.label}>
        {props.tabs.map((t) => (
          <a role="tab" id={`tab-${t.id}`} href={props.link(t.id)} aria-selected={t.id === props.current ? 'true' : 'false'} aria-controls={`panel-${t.id}`}>
            {t.label}
          </a>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${props.current}`} aria-labelledby={`tab-${props.current}`}>
        {props.children}
      </div>
    </div>
  )
}

/** A value with a button that copies it (the console's script handles `data-copy`). */
export function Copyable(props: { value: string; label: string }) {
  return (
    <span class="c2-copyable">
      <code>{props.value}</code>{' '}
      <button type="button" class="secondary outline c2-copy" data-copy={props.value} aria-label={`Copy ${props.label}`}>
        Copy
      </button>
    </span>
  )
}

/** Pretty-prints a policy for the editor; text that is not JSON is shown as it is. */
export function prettyPolicy(text: string | undefined): string {
  if (text === undefined) return ''
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

export function Dl(props: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="c2-dl">
      {props.rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </>
      ))}
    </dl>
  )
}

/** AWS's refusal of one call (C1's box), with the explain link for the action and resource it was about. */
export function ErrorBox(props: { ctx: ConsoleContext; error: unknown; action?: string; resource?: string; title?: string }) {
  const attempted = props.action !== undefined && props.resource !== undefined ? { action: props.action, resource: props.resource } : undefined
  return <ApiErrorBox ctx={props.ctx} error={toApiError(props.error, attempted)} {...(props.title ? { title: props.title } : {})} />
}

/** A plain table: a caption, column headers, and each row headed by its first cell. */
export function Table(props: { caption: string; head: string[]; rows: ComponentChildren[][] }) {
  return <DataTable caption={props.caption} columns={props.head} rows={props.rows} />
}

/** The stylesheet and script of these pages (same-origin assets, as the CSP asks). */
export function Assets(props: { ctx: ConsoleContext }) {
  return (
    <>
      <link rel="stylesheet" href={`${props.ctx.base}/assets/mraps.css`} />
      <script src={`${props.ctx.base}/assets/mraps.js`} defer />
    </>
  )
}
