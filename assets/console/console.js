// The console's only client script: htmx requests carry the session's CSRF token (forms carry it as
// a hidden _csrf field). No eval, no inline code: the page's CSP is default-src 'self'.
document.addEventListener('htmx:configRequest', (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]')
  if (meta) event.detail.headers['X-CSRF-Token'] = meta.getAttribute('content')
})
// A <form data-confirm="…"> asks before it submits (deleting, taking a region down).
document.addEventListener('submit', (event) => {
  const form = event.target
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault()
})
