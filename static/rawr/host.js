// The MFE host shell of /rawr/ (templates/rawr/host.html): routing, mounting, and the mount
// context every capability MFE receives (docs/mfe/README.md describes it for MFE authors).
//
// The page is the same for /rawr/, /rawr/<cap> and /rawr/<cap>/<sub/route>; this module
// reads the path, imports the capability's ES module (/rawr/plugins/web/<cap>/index.js)
// and calls its mount(element, ctx). History: ctx.navigate pushes entries under the MFE's
// base path; back/forward (popstate) either tells the mounted MFE (onHostNavigate) or
// unmounts it and mounts the other one.
import { createORPCClient, ORPCError, RPCLink } from '@orpc/client'
import { Validator } from '@cfworker/json-schema'

const config = JSON.parse(document.getElementById('rawr-host-config').textContent)
const PREFIX = config.mountPrefix // "/rawr"
const mfesById = new Map(config.mfes.map((mfe) => [mfe.id, mfe]))
const outlet = document.getElementById('rawr-mfe')
const home = document.getElementById('rawr-home')
const statusLine = document.getElementById('rawr-status')
const baseTitle = 'RAWR HQ'

// -- the gateway: the real oRPC RPCLink on /rpc, with the session cookie and CSRF header --
function csrfToken () {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/)
  return match ? decodeURIComponent(match[1]) : config.csrfToken
}

const rpc = createORPCClient(new RPCLink({
  url: new URL(config.rpcUrl, window.location.origin).href,
  // Django checks X-CSRFToken on every session POST to /rpc; the cookie is same-origin.
  headers: () => ({ 'x-csrftoken': csrfToken() })
}))

// -- contract schemas and validation (the same JSON Schemas the server enforces) ------------
const validators = new WeakMap()

function issuePath (instanceLocation) {
  return instanceLocation.replace(/^#\/?/, '').split('/').filter(Boolean)
    .map((part) => decodeURIComponent(part.replace(/~1/g, '/').replace(/~0/g, '~'))).join('.')
}

// Wrapper keywords report "a child failed"; the child's own error says what is wrong.
const WRAPPERS = new Set(['properties', 'items', 'prefixItems', '$ref', 'allOf', 'additionalProperties', 'unevaluatedProperties', '$defs'])

function validate (schema, value) {
  if (schema == null) return []
  let validator = validators.get(schema)
  if (!validator) {
    validator = new Validator(schema, '2020-12', false)
    validators.set(schema, validator)
  }
  const result = validator.validate(value)
  if (result.valid) return []
  const errors = result.errors.filter((e) => !WRAPPERS.has(e.keyword))
  const byPath = new Map()
  for (const error of errors) {
    const path = issuePath(error.instanceLocation)
    // Keep the deepest failures only, one message per path (anyOf branches repeat it).
    if (errors.some((o) => o !== error && o.instanceLocation.startsWith(error.instanceLocation + '/'))) continue
    if (!byPath.has(path)) byPath.set(path, error.error)
  }
  if (byPath.size === 0) byPath.set(issuePath(result.errors[0].instanceLocation), result.errors[0].error)
  return [...byPath].map(([path, message]) => ({ path, message }))
}

// -- live run status: poll /rawr/runs/<id>/watch with ETag (304 while nothing changed) ------
// With RAWR_RUN_WATCH_WAIT_SECONDS > 0 the server holds each request (long-poll) and
// runWatchPollMs is 0; otherwise the browser pauses runWatchPollMs between requests.
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function watchRun (runId, onUpdate, onError) {
  const controller = new AbortController()
  const timeline = []
  let etag = null
  let after = 0
  let stopped = false
  const url = config.runWatchUrl.replace('{runId}', encodeURIComponent(runId))

  async function loop () {
    let failures = 0
    let first = true
    while (!stopped) {
      if (!first && config.runWatchPollMs > 0) await pause(config.runWatchPollMs)
      first = false
      if (stopped) return
      let response
      try {
        response = await fetch(`${url}?after=${after}`, {
          headers: etag ? { 'If-None-Match': etag } : {},
          credentials: 'same-origin',
          cache: 'no-store',
          signal: controller.signal
        })
      } catch (error) {
        if (stopped) return
        failures += 1 // network blip or server restart: try again, slower each time
        await pause(Math.min(5000, 500 * failures))
        continue
      }
      failures = 0
      if (response.status === 304) continue
      if (!response.ok) {
        let body = null
        try { body = await response.json() } catch (_) { /* not JSON */ }
        const err = new ORPCError(body?.code ?? 'INTERNAL_SERVER_ERROR', {
          status: body?.status ?? response.status,
          message: body?.message ?? response.statusText,
          data: body?.data,
          defined: Boolean(body?.defined)
        })
        stopped = true
        if (onError) onError(err)
        else console.error('runs.watch', runId, err)
        return
      }
      const snapshot = await response.json()
      etag = response.headers.get('ETag')
      timeline.push(...snapshot.events)
      if (snapshot.events.length) after = snapshot.events[snapshot.events.length - 1].seq
      if (snapshot.more) { etag = null; first = true; continue }
      if (stopped) return
      onUpdate({
        runId: snapshot.runId,
        functionId: snapshot.functionId,
        status: snapshot.status,
        output: snapshot.output,
        error: snapshot.error,
        waitingFor: snapshot.waitingFor,
        timeline: timeline.slice(),
        finished: snapshot.finished
      })
      if (snapshot.finished) return
    }
  }
  loop()
  return function stop () {
    stopped = true
    controller.abort()
  }
}

// -- routing ------------------------------------------------------------------------------
function parse (pathname) {
  const rest = pathname === PREFIX ? '' : pathname.slice(PREFIX.length + 1)
  if (!pathname.startsWith(PREFIX) || rest === '') return { id: null, mfe: null, sub: '/' }
  const [id, ...sub] = rest.split('/')
  return { id, mfe: mfesById.get(id) ?? null, sub: '/' + sub.join('/') }
}

function mfeLocation () {
  const { sub } = parse(window.location.pathname)
  return { pathname: sub, search: window.location.search, hash: window.location.hash }
}

let current = null // { mfe, unmount, listeners, active }
let generation = 0

function setStatus (text) { statusLine.textContent = text }

function markNav (id) {
  for (const link of document.querySelectorAll('.rawr-nav a[data-mfe]')) {
    if (link.dataset.mfe === id) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
}

function makeContext (mfe, state) {
  return Object.freeze({
    hostAppId: config.hostAppId,
    basePath: mfe.basePath,
    getLocation: mfeLocation,
    navigate (path) {
      if (!state.active) return
      const target = String(path ?? '/')
      const suffix = target === '/' || target === '' ? '' : (target.startsWith('/') ? target : '/' + target)
      const url = mfe.basePath + suffix
      const now = window.location.pathname + window.location.search + window.location.hash
      if (url !== now) window.history.pushState({ rawr: mfe.id }, '', url)
    },
    onHostNavigate (callback) {
      state.listeners.add(callback)
      return () => state.listeners.delete(callback)
    },
    user: Object.freeze({ ...config.user }),
    rpc,
    contracts: config.contracts,
    validate,
    runs: Object.freeze({
      watch (runId, onUpdate, onError) {
        const stop = watchRun(runId, onUpdate, onError)
        state.watchers.add(stop)
        return () => { state.watchers.delete(stop); stop() }
      }
    })
  })
}

function unmountCurrent () {
  if (!current) return
  const previous = current
  current = null
  previous.state.active = false
  previous.state.listeners.clear()
  for (const stop of previous.state.watchers) stop()
  try {
    if (typeof previous.unmount === 'function') previous.unmount()
  } catch (error) {
    console.error(`unmount of ${previous.mfe.id} failed`, error)
  }
  outlet.replaceChildren()
  outlet.dataset.mounted = ''
}

async function route () {
  const target = parse(window.location.pathname)
  if (current && target.mfe && current.mfe.id === target.mfe.id) {
    const location = mfeLocation() // back/forward or host navigation inside the same MFE
    for (const listener of [...current.state.listeners]) {
      try { listener(location) } catch (error) { console.error(error) }
    }
    return
  }
  const gen = ++generation
  unmountCurrent()
  markNav(target.mfe?.id ?? null)
  if (!target.mfe) {
    home.hidden = target.id !== null
    document.title = baseTitle
    setStatus(target.id !== null ? `No micro-frontend “${target.id}” is enabled here.` : '')
    return
  }
  home.hidden = true
  document.title = `${target.mfe.title} · ${baseTitle}`
  setStatus(`Loading ${target.mfe.title}…`)
  let module
  try {
    module = await import(target.mfe.entry)
  } catch (error) {
    if (gen === generation) setStatus(`${target.mfe.title} could not be loaded: ${error.message}`)
    return
  }
  if (gen !== generation) return // the user went elsewhere while it loaded
  const element = document.createElement('div')
  element.className = 'rawr-mfe-root'
  element.dataset.capability = target.mfe.id
  outlet.replaceChildren(element)
  const state = { active: true, listeners: new Set(), watchers: new Set() }
  current = { mfe: target.mfe, state, unmount: null }
  try {
    current.unmount = module.mount(element, makeContext(target.mfe, state))
    outlet.dataset.mounted = target.mfe.id
    setStatus('')
  } catch (error) {
    setStatus(`${target.mfe.title} failed to start: ${error.message}`)
    console.error(error)
  }
}

// Host links (brand, navigation, home cards) navigate without reloading the page.
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-rawr-link]')
  if (!link || event.defaultPrevented || event.button !== 0) return
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  const url = new URL(link.href)
  if (url.pathname !== window.location.pathname || url.search !== window.location.search) {
    window.history.pushState({ rawr: 'host' }, '', url.pathname + url.search)
  }
  route()
})

window.addEventListener('popstate', () => { route() })

route().then(() => { document.documentElement.dataset.rawrHost = 'ready' })
