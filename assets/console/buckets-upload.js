// Uploads on the Buckets page: each file goes as the raw body of its own XMLHttpRequest (fetch()
// has no upload progress), with a <progress>, Cancel and Retry per file. The console streams the
// body on to the bucket; its answer (a notice or AWS's error with an explain link) is shown in the
// file's row. When every upload has settled the listing is reloaded in place.
;(() => {
  const panel = document.getElementById('upload-panel')
  if (!panel || panel.dataset.ready) return
  panel.dataset.ready = '1'
  const form = panel.querySelector('form.upload-form')
  const input = form.querySelector('input[type=file]')
  const list = panel.querySelector('.upload-list')
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? ''
  let running = 0

  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    for (const file of Array.from(input.files ?? [])) start(file)
    form.reset()
  })

  function button(label, cls) {
    const b = document.createElement('button')
    b.type = 'button'
    b.className = cls
    b.textContent = label
    return b
  }

  function start(file) {
    const key = (form.dataset.prefix ?? '') + file.name
    const li = document.createElement('li')
    li.className = 'upload-item'
    const name = document.createElement('span')
    name.className = 'upload-name'
    name.textContent = key
    const bar = document.createElement('progress')
    bar.max = Math.max(file.size, 1)
    bar.value = 0
    bar.setAttribute('aria-label', `Upload of ${key}`)
    const status = document.createElement('span')
    status.className = 'upload-status'
    status.setAttribute('role', 'status')
    const cancel = button('Cancel', 'secondary outline')
    cancel.setAttribute('aria-label', `Cancel upload of ${key}`)
    const retry = button('Retry', 'secondary')
    retry.setAttribute('aria-label', `Retry upload of ${key}`)
    retry.hidden = true
    const result = document.createElement('div')
    result.className = 'upload-result'
    li.append(name, ' ', bar, ' ', status, ' ', cancel, ' ', retry, result)
    list.append(li)

    let xhr
    const send = () => {
      running += 1
      retry.hidden = true
      cancel.hidden = false
      result.replaceChildren()
      bar.value = 0
      status.textContent = 'Uploading…'
      li.dataset.state = 'uploading'
      const q = new URLSearchParams({ key, size: String(file.size), type: file.type || 'application/octet-stream' })
      xhr = new XMLHttpRequest()
      xhr.open('POST', `${form.dataset.uploadUrl}?${q}`)
      xhr.setRequestHeader('X-CSRF-Token', csrf)
      xhr.setRequestHeader('Content-Type', 'application/octet-stream')
      xhr.upload.addEventListener('progress', (e) => {
        bar.value = e.loaded
        status.textContent = e.loaded >= file.size ? 'Finishing…' : `${Math.floor((100 * e.loaded) / Math.max(file.size, 1))}%`
        // Every byte is sent: the console completes the upload whatever the browser does now, as S3
        // completes a request whose body it has, so a Cancel would claim what it cannot do.
        if (e.loaded >= file.size) cancel.hidden = true
      })
      xhr.addEventListener('load', () => {
        // The server's own fragment (escaped by the server's renderer; CSP forbids inline scripts).
        result.innerHTML = xhr.responseText
        if (xhr.status === 200) {
          bar.value = bar.max
          settle('done', 'Uploaded')
        } else settle('failed', `Failed (HTTP ${xhr.status})`)
      })
      xhr.addEventListener('error', () => settle('failed', 'Failed: the connection to the console was lost'))
      xhr.addEventListener('abort', () => settle('cancelled', 'Cancelled'))
      xhr.send(file)
    }
    const settle = (state, text) => {
      running -= 1
      li.dataset.state = state
      status.textContent = text
      cancel.hidden = true
      retry.hidden = state === 'done'
      if (running === 0) refresh()
    }
    cancel.addEventListener('click', () => xhr?.abort())
    retry.addEventListener('click', send)
    send()
  }

  function refresh() {
    const target = document.getElementById('objects-listing')
    if (!target || !window.htmx) return
    window.htmx.ajax('GET', form.dataset.listing, { target, swap: 'outerHTML' })
  }
})()
