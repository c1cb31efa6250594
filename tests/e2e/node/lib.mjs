// Helpers shared by the scripts that drive RAWR HQ with the REAL oRPC 1.16.1 clients
// (orpc_clients.mjs, coordination_clients.mjs): environment, contracts derived from the
// manifest, and a recorder that keeps, for every call, what the client returned or threw
// plus the HTTP exchange(s) it made. The scripts print the recorder's `calls` as JSON.

import { readFileSync } from "node:fs";

import { isDefinedError, ORPCError } from "@orpc/client";
import { oc } from "@orpc/contract";

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} must be set`);
  }
  return value;
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

export const bearer = (secret) => ({ Authorization: `Bearer ${secret}` });

// -- contracts derived from the manifest ----------------------------------------------------
function procedureContract(proc, path) {
  const errors = Object.fromEntries(
    Object.entries(proc.errors ?? {}).map(([code, status]) => [code, { status }]),
  );
  return oc
    .errors(errors)
    .route({ method: proc.method, path, successStatus: proc.successStatus });
}

/** {capability: {procedure: oc.route(...)}} for the manifest procedures `pick` keeps. */
export function deriveContract(manifest, pick, { capabilities = null } = {}) {
  const contract = {};
  for (const capability of manifest.capabilities) {
    if (capabilities !== null && !capabilities.includes(capability.id)) {
      continue;
    }
    const procedures = {};
    for (const proc of capability.procedures) {
      if (pick(proc)) {
        procedures[proc.name] = procedureContract(proc, proc.path);
      }
    }
    if (Object.keys(procedures).length) {
      contract[capability.id] = procedures;
    }
  }
  return contract;
}

/** What /api/orpc publishes: external procedures whose published path is under it. */
export const onOrpc = (proc) =>
  proc.publishedPath !== null && proc.publishedPath.startsWith("/api/orpc/");

/** {capability: {procedure: route}} of a derived contract, for the summary. */
export function contractRoutes(contract) {
  return Object.fromEntries(
    Object.entries(contract).map(([cap, procs]) => [
      cap,
      Object.fromEntries(Object.entries(procs).map(([name, p]) => [name, p["~orpc"].route])),
    ]),
  );
}

// -- recording -------------------------------------------------------------------------------
const MAX_CAPTURED_BODY = 4000;

function clip(text) {
  return text.length > MAX_CAPTURED_BODY ? `${text.slice(0, MAX_CAPTURED_BODY)}...` : text;
}

/** JSON-safe copy; Dates become {"$date": iso} so revival is visible to the Python side. */
export function describe(value) {
  if (value instanceof Date) {
    return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  }
  if (Array.isArray(value)) {
    return value.map(describe);
  }
  if (value === undefined) {
    return { $undefined: true };
  }
  if (value !== null && typeof value === "object") {
    if (typeof Headers !== "undefined" && value instanceof Headers) {
      return Object.fromEntries(value.entries());
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
  }
  if (typeof value === "function") {
    return { $function: true };
  }
  if (typeof value === "bigint") {
    return { $bigint: value.toString() };
  }
  return value;
}

export function describeError(error) {
  const out = {
    name: error?.name ?? null,
    constructor: error?.constructor?.name ?? null,
    isORPCError: error instanceof ORPCError,
    isDefinedError: isDefinedError(error),
    message: error?.message ?? String(error),
  };
  if (error instanceof ORPCError) {
    Object.assign(out, {
      code: error.code,
      status: error.status,
      defined: error.defined,
      data: describe(error.data),
    });
  }
  if (error?.cause !== undefined) {
    out.cause = error.cause instanceof Error ? error.cause.message : describe(error.cause);
  }
  return out;
}

/**
 * A recorder: `fetch` for the links (passes requests through and records both sides),
 * `call(label, fn)` to run one client call and keep its outcome under `calls[label]`.
 * `annotate(value)` may add fields to a successful record (e.g. which fields are Dates).
 */
export function createRecorder({ annotate = null } = {}) {
  const calls = {};
  let currentWire = null;

  async function capturingFetch(request, init) {
    const url = new URL(request.url);
    const requestBody = request.body ? await request.clone().text() : null;
    const entry = {
      method: request.method,
      path: url.pathname,
      search: url.search,
      query: [...url.searchParams.entries()],
      contentType: request.headers.get("content-type"),
      authorization: request.headers.get("authorization") ? "Bearer <redacted>" : null,
      body: requestBody === null ? null : clip(requestBody),
      bodyLength: requestBody === null ? null : requestBody.length,
    };
    currentWire?.push(entry);
    let response;
    try {
      response = await fetch(request, init);
    } catch (error) {
      const cause = error?.cause ? ` (${error.cause.message ?? error.cause})` : "";
      entry.fetchError = `${error?.message ?? error}${cause}`;
      throw error;
    }
    entry.status = response.status;
    entry.responseContentType = response.headers.get("content-type");
    entry.responseBody = clip(await response.clone().text());
    return response;
  }

  /** Run `fn` (one client call); record it; return the record when it succeeded, else null. */
  async function call(label, fn) {
    const wire = [];
    currentWire = wire;
    let record;
    try {
      const value = await fn();
      record = { ok: true, value: describe(value), ...(annotate ? annotate(value) : {}) };
    } catch (error) {
      record = { ok: false, error: describeError(error) };
    } finally {
      currentWire = null;
    }
    record.wire = wire;
    calls[label] = record;
    return record.ok ? record : null;
  }

  return { calls, fetch: capturingFetch, call };
}
