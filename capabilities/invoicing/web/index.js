// The invoicing capability's micro-frontend, mounted by the host at /rawr/invoicing.
//
// Sub-routes (relative to ctx.basePath):
//   /                 invoices, newest first (invoicing.listInvoices, "More" pages on)
//   /new              the new-invoice form with line rows; validated against the contract's
//                     JSON Schema (ctx.contracts.invoicing.createInvoice.input) before any
//                     request, so a bad amount never leaves the browser
//   /invoices/<id>    one invoice; "Start approval" triggers the durable run
//                     (ctx.rpc.invoicing.approval) and ctx.runs.watch shows it live until
//                     the invoice is sent or rejected
// Plain DOM, no framework: everything goes through the host's ctx.

const STYLE = `
.inv-mfe { max-width: 60rem; }
.inv-mfe [hidden] { display: none !important; }
.inv-mfe h1 { margin: 0 0 .8rem; font-size: 1.5rem; }
.inv-mfe .bar { display: flex; gap: .6rem; align-items: center; margin-bottom: 1rem; }
.inv-mfe .bar .spacer { flex: 1; }
.inv-mfe button, .inv-mfe .button { padding: .42rem .9rem; font: inherit; border: 0; border-radius: 4px;
  background: #0b6bcb; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
.inv-mfe button.secondary { background: #e8eef5; color: #1f2d3d; }
.inv-mfe button:disabled { opacity: .55; cursor: default; }
.inv-mfe table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #d8dee6; }
.inv-mfe caption { text-align: left; color: #5b6775; padding: .3rem 0; }
.inv-mfe th, .inv-mfe td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e6ebf1; }
.inv-mfe td.num, .inv-mfe th.num { text-align: right; font-variant-numeric: tabular-nums; }
.inv-mfe .badge { display: inline-block; border-radius: 999px; padding: .05rem .6rem; font-size: .85em; background: #e8eef5; }
.inv-mfe .badge[data-status=awaiting_approval] { background: #fff3c4; }
.inv-mfe .badge[data-status=sent] { background: #d3f5dc; }
.inv-mfe .badge[data-status=rejected] { background: #fde2e1; }
.inv-mfe form { background: #fff; border: 1px solid #d8dee6; border-radius: 6px; padding: 1rem 1.2rem; display: grid; gap: .8rem; }
.inv-mfe label { display: grid; gap: .2rem; font-size: .9em; color: #3b4654; }
.inv-mfe input, .inv-mfe select { padding: .4rem .55rem; font: inherit; border: 1px solid #c3ccd6; border-radius: 4px; }
.inv-mfe input[aria-invalid=true], .inv-mfe select[aria-invalid=true] { border-color: #c53030; background: #fff5f5; }
.inv-mfe .head { display: grid; grid-template-columns: 2fr 2fr 1fr; gap: .8rem; }
.inv-mfe fieldset { border: 1px solid #e6ebf1; border-radius: 6px; padding: .6rem .8rem; }
.inv-mfe .line { display: grid; grid-template-columns: 3fr 1fr 1fr auto; gap: .6rem; align-items: end; margin-bottom: .5rem; }
.inv-mfe .problems { color: #c53030; margin: 0; padding-left: 1.2rem; }
.inv-mfe .problem { color: #c53030; }
.inv-mfe .run { background: #fff; border: 1px solid #d8dee6; border-left: 4px solid #0b6bcb; border-radius: 6px; padding: .7rem 1rem; margin: 1rem 0; }
.inv-mfe .run[data-state=waiting] { border-left-color: #d69e2e; }
.inv-mfe .run .detail { color: #5b6775; margin: .2rem 0 .6rem; font-size: .92em; }
.inv-mfe .run[data-state=sent] { border-left-color: #2f855a; }
.inv-mfe .run[data-state=rejected], .inv-mfe .run[data-state=failed] { border-left-color: #c53030; }
.inv-mfe dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
.inv-mfe dt { color: #5b6775; }
.inv-mfe dd { margin: 0; }
`

const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'JPY', 'SEK']
const STATUS_TEXT = {
  draft: 'Draft',
  awaiting_approval: 'Awaiting approval',
  sent: 'Sent',
  rejected: 'Rejected'
}
const FIELD_LABELS = {
  customer: 'Customer',
  email: 'Email',
  currency: 'Currency',
  lines: 'Lines',
  description: 'description',
  quantity: 'quantity',
  unitPrice: 'unit price'
}

function el (tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props)
  node.append(...children.filter((child) => child != null))
  return node
}

function labelled (text, control) {
  return el('label', {}, el('span', { textContent: text }), control)
}

// "lines.1.unitPrice" -> "Line 2 unit price"
function fieldName (path) {
  const parts = String(path ?? '').split('.').filter(Boolean)
  if (parts.length === 0) return 'Invoice'
  if (parts[0] === 'lines' && parts.length >= 2 && /^\d+$/.test(parts[1])) {
    const rest = parts.slice(2).map((p) => FIELD_LABELS[p] ?? p).join(' ')
    return `Line ${Number(parts[1]) + 1}${rest ? ' ' + rest : ''}`
  }
  return parts.map((p) => FIELD_LABELS[p] ?? p).join(' ')
}

// The schema node at a data path, following $ref into $defs (for its description).
function schemaAt (root, path) {
  let node = root
  const resolve = (n) => {
    let guard = 0
    while (n && n.$ref && guard++ < 10) {
      const name = n.$ref.replace(/^#\/\$defs\//, '')
      n = root.$defs?.[name]
    }
    return n
  }
  for (const part of String(path).split('.').filter(Boolean)) {
    node = resolve(node)
    if (!node) return null
    if (/^\d+$/.test(part) && node.items) node = node.items
    else node = node.properties?.[part]
  }
  return resolve(node)
}

function valueAt (value, path) {
  return String(path).split('.').filter(Boolean).reduce((v, part) => (v == null ? v : v[part]), value)
}

// A validator's words ("String does not match pattern.") said from the schema node itself,
// so the form explains the contract's rule without restating it.
function explain (schema, issue, value) {
  const node = schemaAt(schema, issue.path)
  let message = issue.message
  const given = valueAt(value, issue.path)
  if (given === '' || given == null) {
    message = 'is required'
  } else if (node?.anyOf && node.description) {
    // "Unit price: a positive amount with at most 2 decimals, e.g. 12.50 (...)."
    message = 'must be ' + node.description.replace(/^[^:]*:\s*/, '').replace(/\s*\(.*\)\.?$/, '')
  } else if (node?.type === 'integer') {
    message = `must be a whole number from ${node.minimum ?? '…'} to ${node.maximum ?? '…'}`
  } else if (node?.format === 'email' || (node?.pattern && /@/.test(node.description ?? ''))) {
    // The contract states an address by its pattern (what the server applies) and says so.
    message = 'must be an email address, e.g. name@example.com'
  } else if (node?.type === 'array' && node.minItems) {
    message = `needs at least ${node.minItems}`
  }
  return `${fieldName(issue.path)}: ${message}`
}

export function mount (element, ctx) {
  const root = el('div', { className: 'inv-mfe' })
  element.replaceChildren(el('style', { textContent: STYLE }), root)
  const api = ctx.rpc.invoicing
  const schemas = ctx.contracts.invoicing
  let renderId = 0
  const stops = new Set()

  function stopWatching () {
    for (const stop of stops) stop()
    stops.clear()
  }

  function go (path) {
    ctx.navigate(path)
    render()
  }

  function link (path, text, props = {}) {
    const a = el('a', { href: ctx.basePath + path, textContent: text, ...props })
    a.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return
      event.preventDefault()
      go(path)
    })
    return a
  }

  function problem (error) {
    const p = el('p', { className: 'problem', role: 'alert' })
    p.dataset.errorCode = error?.code ?? 'ERROR'
    p.dataset.errorStatus = String(error?.status ?? '')
    p.dataset.errorData = JSON.stringify(error?.data ?? null)
    const issues = error?.data?.issues
    const detail = Array.isArray(issues) && issues.length
      ? ' — ' + issues.map((i) => `${fieldName((i.path ?? []).join('.'))}: ${i.message}`).join('; ')
      : ''
    p.textContent = `${error?.code ?? 'Error'}: ${error?.message ?? String(error)}${detail}`
    return p
  }

  function badge (status) {
    const span = el('span', { className: 'badge', textContent: STATUS_TEXT[status] ?? status })
    span.dataset.status = status
    return span
  }

  // -- / : the list -------------------------------------------------------------------------
  async function renderList (id) {
    const body = el('tbody')
    const table = el('table', {},
      el('caption', { textContent: 'Newest first' }),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', textContent: 'Invoice' }),
        el('th', { scope: 'col', textContent: 'Customer' }),
        el('th', { scope: 'col', className: 'num', textContent: 'Total' }),
        el('th', { scope: 'col', textContent: 'Status' }))),
      body)
    table.setAttribute('aria-label', 'Invoices')
    const more = el('button', { type: 'button', className: 'secondary', textContent: 'More', hidden: true })
    const note = el('p', { className: 'muted', textContent: 'Loading…' })
    root.replaceChildren(
      el('div', { className: 'bar' }, el('h1', { textContent: 'Invoices' }), el('span', { className: 'spacer' }),
        link('/new', 'New invoice', { className: 'button' })),
      note, table, more)

    let cursor = null
    async function page () {
      more.disabled = true
      try {
        const result = await api.listInvoices(cursor ? { limit: 20, cursor } : { limit: 20 })
        if (id !== renderId) return
        for (const invoice of result.invoices) {
          const row = el('tr', {},
            el('td', {}, link(`/invoices/${encodeURIComponent(invoice.invoiceId)}`, invoice.invoiceId)),
            el('td', { textContent: invoice.customer }),
            el('td', { className: 'num', textContent: `${invoice.total} ${invoice.currency}` }),
            el('td', {}, badge(invoice.status)))
          row.dataset.invoiceId = invoice.invoiceId
          body.append(row)
        }
        cursor = result.nextCursor
        more.hidden = !cursor
        note.textContent = body.children.length ? '' : 'No invoices yet.'
      } catch (error) {
        if (id === renderId) note.replaceWith(problem(error))
      } finally {
        more.disabled = false
      }
    }
    more.addEventListener('click', page)
    await page()
  }

  // -- /new : the form ------------------------------------------------------------------------
  function renderForm () {
    const customer = el('input', { name: 'customer', autocomplete: 'organization' })
    const email = el('input', { name: 'email', type: 'text', inputMode: 'email', autocomplete: 'email' })
    const currency = el('select', { name: 'currency' }, ...CURRENCIES.map((c) => el('option', { value: c, textContent: c })))
    const lines = el('div', { className: 'lines' })
    const problems = el('ul', { className: 'problems', role: 'alert' })
    problems.setAttribute('aria-label', 'Problems')
    const submit = el('button', { type: 'submit', textContent: 'Create invoice' })
    const addLine = el('button', { type: 'button', className: 'secondary', textContent: 'Add line' })
    const form = el('form', { noValidate: true },
      el('div', { className: 'head' }, labelled('Customer', customer), labelled('Email', email), labelled('Currency', currency)),
      el('fieldset', {}, el('legend', { textContent: 'Lines' }), lines, addLine),
      problems,
      el('div', { className: 'bar' }, submit, link('/', 'Cancel')))
    form.setAttribute('aria-label', 'New invoice')

    function renumber () {
      ;[...lines.children].forEach((row, index) => {
        const n = index + 1
        row.querySelector('[name=description]').setAttribute('aria-label', `Line ${n} description`)
        row.querySelector('[name=quantity]').setAttribute('aria-label', `Line ${n} quantity`)
        row.querySelector('[name=unitPrice]').setAttribute('aria-label', `Line ${n} unit price`)
        const remove = row.querySelector('button')
        remove.setAttribute('aria-label', `Remove line ${n}`)
        remove.disabled = lines.children.length === 1
      })
    }

    function lineRow () {
      const description = el('input', { name: 'description', placeholder: 'Description' })
      const quantity = el('input', { name: 'quantity', type: 'number', min: '1', step: '1', value: '1' })
      const unitPrice = el('input', { name: 'unitPrice', inputMode: 'decimal', placeholder: '0.00' })
      const remove = el('button', { type: 'button', className: 'secondary', textContent: 'Remove' })
      const row = el('div', { className: 'line' },
        el('label', {}, el('span', { textContent: 'Description' }), description),
        el('label', {}, el('span', { textContent: 'Quantity' }), quantity),
        el('label', {}, el('span', { textContent: 'Unit price' }), unitPrice),
        remove)
      remove.addEventListener('click', () => { row.remove(); renumber() })
      return row
    }

    addLine.addEventListener('click', () => {
      lines.append(lineRow())
      renumber()
      lines.lastElementChild.querySelector('[name=description]').focus()
    })
    lines.append(lineRow())
    renumber()

    function value () {
      const quantityOf = (raw) => (/^\s*\d+\s*$/.test(raw) ? Number(raw) : (raw.trim() === '' ? null : raw))
      return {
        customer: customer.value.trim(),
        email: email.value.trim(),
        currency: currency.value,
        lines: [...lines.children].map((row) => ({
          description: row.querySelector('[name=description]').value.trim(),
          quantity: quantityOf(row.querySelector('[name=quantity]').value),
          unitPrice: row.querySelector('[name=unitPrice]').value.trim()
        }))
      }
    }

    function control (path) {
      const parts = path.split('.')
      if (parts[0] === 'lines' && parts.length >= 3) {
        return lines.children[Number(parts[1])]?.querySelector(`[name=${parts[2]}]`) ?? null
      }
      return form.querySelector(`[name=${parts[0]}]`)
    }

    function show (issues) {
      for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid')
      problems.replaceChildren(...issues.map((issue) => el('li', { textContent: issue })))
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const invoice = value()
      // The contract's own JSON Schema: a bad amount is refused here, before any request.
      const issues = ctx.validate(schemas.createInvoice.input, invoice)
      if (issues.length) {
        show(issues.map((issue) => explain(schemas.createInvoice.input, issue, invoice)))
        for (const issue of issues) control(issue.path)?.setAttribute('aria-invalid', 'true')
        form.dataset.state = 'invalid'
        return
      }
      show([])
      submit.disabled = true
      form.dataset.state = 'sending'
      try {
        const created = await api.createInvoice(invoice)
        go(`/invoices/${encodeURIComponent(created.invoice.invoiceId)}`)
      } catch (error) {
        form.dataset.state = 'error'
        problems.replaceChildren(el('li', {}, problem(error)))
        for (const issue of error?.data?.issues ?? []) {
          control((issue.path ?? []).join('.'))?.setAttribute('aria-invalid', 'true')
        }
      } finally {
        submit.disabled = false
      }
    })

    root.replaceChildren(el('p', {}, link('/', '← Invoices')), el('h1', { textContent: 'New invoice' }), form)
    customer.focus()
  }

  // -- /invoices/<id> : one invoice and its approval run ----------------------------------------
  async function renderInvoice (id, invoiceId) {
    stopWatching()
    root.replaceChildren(el('p', {}, link('/', '← Invoices')), el('p', { textContent: 'Loading…' }))
    let invoice
    try {
      invoice = (await api.getInvoice({ invoiceId })).invoice
    } catch (error) {
      // An ORPCError from the real client: INVOICE_NOT_FOUND with its status and data.
      if (id === renderId) root.replaceChildren(el('p', {}, link('/', '← Invoices')), problem(error))
      return
    }
    if (id !== renderId) return

    const statusBadge = badge(invoice.status)
    const details = el('dl', {},
      el('dt', { textContent: 'Customer' }), el('dd', { textContent: invoice.customer }),
      el('dt', { textContent: 'Email' }), el('dd', { textContent: invoice.email }),
      el('dt', { textContent: 'Status' }), el('dd', {}, statusBadge),
      el('dt', { textContent: 'Total' }), el('dd', { className: 'total', textContent: `${invoice.total} ${invoice.currency}` }))
    const lineRows = invoice.lines.map((line) => el('tr', {},
      el('td', { textContent: line.description }),
      el('td', { className: 'num', textContent: String(line.quantity) }),
      el('td', { className: 'num', textContent: line.unitPrice }),
      el('td', { className: 'num', textContent: line.amount })))
    const table = el('table', {},
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', textContent: 'Description' }),
        el('th', { scope: 'col', className: 'num', textContent: 'Quantity' }),
        el('th', { scope: 'col', className: 'num', textContent: 'Unit price' }),
        el('th', { scope: 'col', className: 'num', textContent: 'Amount' }))),
      el('tbody', {}, ...lineRows))
    table.setAttribute('aria-label', 'Lines')

    // The live run panel: one element whose text follows the run (role=status: announced).
    const runText = el('p', { className: 'run-status', role: 'status' })
    runText.setAttribute('aria-live', 'polite')
    runText.setAttribute('aria-label', 'Approval status')
    const runDetail = el('p', { className: 'detail', hidden: true })
    const panel = el('section', { className: 'run' }, runText, runDetail)
    panel.setAttribute('aria-label', 'Approval')
    const start = el('button', { type: 'button', textContent: 'Start approval' })

    function state (name, text, detail = '') {
      panel.dataset.state = name
      runText.textContent = text
      runDetail.textContent = detail
      runDetail.hidden = !detail
    }

    async function refresh () {
      try {
        const fresh = (await api.getInvoice({ invoiceId })).invoice
        if (id === renderId) setInvoice(fresh)
      } catch (error) {
        if (id === renderId) panel.append(problem(error))
      }
    }

    let statusNode = statusBadge
    function setInvoice (fresh) {
      invoice = fresh
      const next = badge(fresh.status)
      statusNode.replaceWith(next)
      statusNode = next
      start.hidden = fresh.status !== 'draft' || Boolean(fresh.approvalRunId) || Boolean(panel.dataset.runId)
    }

    function follow (runId) {
      panel.dataset.runId = runId
      state('following', 'Following the approval run…')
      const stop = ctx.runs.watch(runId, async (update) => {
        if (id !== renderId) return
        if (!update.finished) {
          if (update.status === 'waiting') {
            state('waiting', 'Waiting for approval', update.waitingFor?.text ?? '')
            if (invoice.status === 'draft') refresh() // the run marked it awaiting approval
          } else {
            state('running', `Approval run ${update.status}…`)
          }
          return
        }
        stops.delete(stop)
        if (update.status === 'completed' && update.output?.status === 'sent') {
          state('sent', `Sent to ${invoice.email}`)
        } else if (update.status === 'completed' && update.output?.status === 'rejected') {
          state('rejected', `Rejected: ${update.output.reason}`)
        } else {
          state('failed', `Approval ${update.status}: ${update.error?.message ?? update.error?.code ?? 'no detail'}`)
        }
        await refresh()
      }, (error) => {
        // 404 RUN_NOT_FOUND for a run someone else started (only staff watch every run).
        if (id !== renderId) return
        state('unknown', `Approval status unavailable (${STATUS_TEXT[invoice.status] ?? invoice.status})`)
        panel.append(problem(error))
      })
      stops.add(stop)
    }

    start.addEventListener('click', async () => {
      start.disabled = true
      state('starting', 'Starting approval…')
      try {
        const started = await api.approval({ invoiceId })
        if (id !== renderId) return
        start.hidden = true
        follow(started.runId)
      } catch (error) {
        state('failed', 'Approval could not start')
        panel.append(problem(error))
      } finally {
        start.disabled = false
      }
    })

    if (invoice.status === 'sent') state('sent', `Sent to ${invoice.email}`)
    else if (invoice.status === 'rejected') state('rejected', `Rejected: ${invoice.rejectionReason ?? ''}`)
    else if (invoice.approvalRunId) follow(invoice.approvalRunId)
    else state('draft', 'Not submitted for approval yet.')
    start.hidden = invoice.status !== 'draft' || Boolean(invoice.approvalRunId)
    panel.append(start)

    const article = el('article', {},
      el('h1', { textContent: `Invoice ${invoice.invoiceId}` }), details, table, panel)
    article.dataset.invoiceId = invoice.invoiceId
    root.replaceChildren(el('p', {}, link('/', '← Invoices')), article)
  }

  function render () {
    const id = ++renderId
    stopWatching()
    const { pathname } = ctx.getLocation()
    const match = pathname.match(/^\/invoices\/([^/]+)\/?$/)
    if (match) {
      const invoiceId = decodeURIComponent(match[1])
      const issues = ctx.validate(schemas.getInvoice.input, { invoiceId })
      if (issues.length) {
        root.replaceChildren(el('p', {}, link('/', '← Invoices')), problem({ code: 'BAD_REQUEST', message: issues.map((i) => i.message).join('; ') }))
        return
      }
      renderInvoice(id, invoiceId)
    } else if (/^\/new\/?$/.test(pathname)) {
      renderForm()
    } else {
      renderList(id)
    }
  }

  const unsubscribe = ctx.onHostNavigate(() => render())
  render()
  return () => {
    renderId += 1
    stopWatching()
    unsubscribe()
    element.replaceChildren()
  }
}
