// The search capability's micro-frontend, mounted by the host at /rawr/search.
//
// Sub-routes (relative to ctx.basePath):
//   /            search box + results; the query lives in ?q= so back/forward restore it
//   /doc/<id>    one document (search.getDocument; DOCUMENT_NOT_FOUND shown with its data)
// Everything goes through the host's ctx: ctx.rpc.search.* (oRPC RPCLink on /rpc),
// ctx.contracts.search.* (the contract's JSON Schemas) and ctx.validate.

const STYLE = `
.search-mfe form { display: flex; gap: .5rem; margin-bottom: 1rem; }
.search-mfe input[type=search] { flex: 1; padding: .45rem .6rem; font: inherit; border: 1px solid #c3ccd6; border-radius: 4px; }
.search-mfe button { padding: .45rem .9rem; font: inherit; border: 0; border-radius: 4px; background: #0b6bcb; color: #fff; cursor: pointer; }
.search-mfe ol { list-style: none; padding: 0; display: grid; gap: .6rem; }
.search-mfe li { background: #fff; border: 1px solid #d8dee6; border-radius: 6px; padding: .7rem .9rem; }
.search-mfe .snippet { color: #3b4654; margin: .3rem 0 0; }
.search-mfe .tag { display: inline-block; font-size: .8em; background: #e8eef5; border-radius: 3px; padding: 0 .35rem; margin-right: .25rem; }
.search-mfe .problem { color: #c53030; }
.search-mfe article { background: #fff; border: 1px solid #d8dee6; border-radius: 6px; padding: 1rem 1.2rem; }
.search-mfe article pre { white-space: pre-wrap; font: inherit; }
`

export function mount (element, ctx) {
  const root = document.createElement('div')
  root.className = 'search-mfe'
  const style = document.createElement('style')
  style.textContent = STYLE
  element.replaceChildren(style, root)
  const api = ctx.rpc.search
  const schemas = ctx.contracts.search
  let renderId = 0

  function link (path, text) {
    const a = document.createElement('a')
    a.href = ctx.basePath + path
    a.textContent = text
    a.addEventListener('click', (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey) return
      event.preventDefault()
      ctx.navigate(path)
      render()
    })
    return a
  }

  function el (tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props)
    node.append(...children)
    return node
  }

  function problem (error) {
    const p = el('p', { className: 'problem', role: 'alert' })
    p.dataset.errorCode = error?.code ?? 'ERROR'
    p.dataset.errorStatus = String(error?.status ?? '')
    p.dataset.errorData = JSON.stringify(error?.data ?? null)
    p.textContent = `${error?.code ?? 'Error'}: ${error?.message ?? String(error)}`
    return p
  }

  async function renderSearch (id) {
    const q = new URLSearchParams(ctx.getLocation().search).get('q') ?? ''
    const input = el('input', { type: 'search', name: 'q', value: q, placeholder: 'Search documents…' })
    input.setAttribute('aria-label', 'Search text')
    const form = el('form', { role: 'search' }, input, el('button', { type: 'submit', textContent: 'Search' }))
    const results = el('div', { className: 'results' })
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      const text = input.value.trim()
      ctx.navigate(text ? `/?q=${encodeURIComponent(text)}` : '/')
      render()
    })
    root.replaceChildren(el('h1', { textContent: 'Search' }), form, results)
    if (!q) return
    const query = { q, limit: 20 }
    const issues = ctx.validate(schemas.query.input, query)
    if (issues.length) {
      results.replaceChildren(...issues.map((i) => el('p', { className: 'problem', textContent: `${i.path || 'query'}: ${i.message}` })))
      return
    }
    results.textContent = 'Searching…'
    try {
      const found = await api.query(query)
      if (id !== renderId) return
      const summary = el('p', { className: 'summary', textContent: `${found.total} result${found.total === 1 ? '' : 's'} for “${q}”` })
      const list = el('ol')
      for (const hit of found.results) {
        const item = el('li', {}, link(`/doc/${hit.documentId}`, hit.title))
        item.dataset.documentId = String(hit.documentId)
        const snippet = el('p', { className: 'snippet' })
        snippet.textContent = hit.snippet.replace(/<\/?b>/g, '')
        item.append(snippet, el('div', {}, ...hit.tags.map((t) => el('span', { className: 'tag', textContent: t }))))
        list.append(item)
      }
      results.replaceChildren(summary, list)
    } catch (error) {
      if (id === renderId) results.replaceChildren(problem(error))
    }
  }

  async function renderDocument (id, documentId) {
    root.replaceChildren(el('p', {}, link('/', '← Search')), el('p', { textContent: 'Loading…' }))
    try {
      const doc = await api.getDocument({ documentId })
      if (id !== renderId) return
      const article = el('article', {},
        el('h1', { textContent: doc.title }),
        el('div', {}, ...doc.tags.map((t) => el('span', { className: 'tag', textContent: t }))),
        el('pre', { textContent: doc.body }))
      article.dataset.documentId = String(doc.documentId)
      root.replaceChildren(el('p', {}, link('/', '← Search')), article)
    } catch (error) {
      // An ORPCError from the real client: code, status and data as the server declared them.
      if (id === renderId) root.replaceChildren(el('p', {}, link('/', '← Search')), problem(error))
    }
  }

  function render () {
    const id = ++renderId
    const { pathname } = ctx.getLocation()
    const match = pathname.match(/^\/doc\/([^/]+)\/?$/)
    if (match) {
      const documentId = Number(match[1])
      const issues = ctx.validate(schemas.getDocument.input, { documentId })
      if (issues.length) {
        root.replaceChildren(el('p', {}, link('/', '← Search')), problem({ code: 'BAD_REQUEST', message: issues.map((i) => i.message).join('; ') }))
        return
      }
      renderDocument(id, documentId)
    } else {
      renderSearch(id)
    }
  }

  const unsubscribe = ctx.onHostNavigate(() => render())
  render()
  return () => {
    renderId += 1
    unsubscribe()
    element.replaceChildren()
  }
}
