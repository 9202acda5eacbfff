// The Access and Requests pages' small behaviours (no inline code: the CSP is default-src 'self').
// 1. "Stale results": once results are shown, changing an input says they are for the old inputs.
// 2. "Copy CLI command": copies the read-only field named by data-copy.
// 3. "Show statement": opens the <details> holding the linked statement (a fragment inside a closed
//    <details> is not shown otherwise) and moves focus there.
function revealTarget() {
  const id = decodeURIComponent(location.hash.slice(1))
  if (!id) return
  const el = document.getElementById(id)
  if (!el) return
  for (let d = el.closest('details'); d; d = d.parentElement?.closest('details') ?? null) d.open = true
  el.focus({ preventScroll: false })
}
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('access-form')
  const banner = document.getElementById('stale-banner')
  if (form && banner && document.getElementById('xm-results')) {
    const stale = () => {
      banner.hidden = false
    }
    form.addEventListener('input', stale)
    form.addEventListener('change', stale)
  }
  revealTarget()
})
window.addEventListener('hashchange', revealTarget)
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null
  if (!button) return
  const field = document.getElementById(button.getAttribute('data-copy'))
  if (!field) return
  field.select()
  let ok = false
  try {
    await navigator.clipboard.writeText(field.value)
    ok = true
  } catch {
    ok = document.execCommand?.('copy') === true
  }
  button.textContent = ok ? 'Copied' : 'Select and copy the command'
  setTimeout(() => {
    button.textContent = 'Copy CLI command'
  }, 2000)
})
