// The MRAP, VPC and IAM pages' script (served same-origin: the CSP allows no inline code): copy
// buttons, and the "Edit routing status" dialog's refusal of a configuration with every Region
// passive before it is sent ("at least one Region must be active",
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_SubmitMultiRegionAccessPointRoutes.html).
'use strict'
document.addEventListener('click', (ev) => {
  const b = ev.target instanceof Element ? ev.target.closest('button[data-copy]') : null
  if (!b) return
  const done = (word) => {
    b.textContent = word
    setTimeout(() => {
      b.textContent = 'Copy'
    }, 1500)
  }
  if (navigator.clipboard) navigator.clipboard.writeText(b.dataset.copy).then(() => done('Copied'), () => done('Copy failed'))
  else done('Copy failed')
})
document.addEventListener('submit', (ev) => {
  const f = ev.target
  if (!(f instanceof HTMLFormElement) || !f.hasAttribute('data-require-active')) return
  const out = f.querySelector('[data-require-active-message]')
  if (f.querySelector('input[type=radio][value=active]:checked')) {
    if (out) out.hidden = true
    return
  }
  ev.preventDefault()
  if (out) {
    out.textContent = 'At least one Region must be active: choose Active for a Region before saving.'
    out.hidden = false
  }
})
