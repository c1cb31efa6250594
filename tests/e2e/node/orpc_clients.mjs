// Drive RAWR HQ's /rpc and /api/orpc with the REAL oRPC 1.16.1 clients and print ONE JSON
// object describing what a front end would see (values, thrown errors, and the wire traffic).
//
// Env:
//   RAWR_BASE_URL       e.g. http://localhost:8000 (no trailing slash needed)
//   RAWR_SERVICE_TOKEN  first-party service token (Bearer) for /rpc
//   RAWR_API_KEY        external API key (Bearer) for /api/orpc
//   RAWR_MANIFEST       path to rawr_site/manifest.json (the generated route table)
//   RAWR_SCENARIO       "main" (default) or "payload-too-large"
//   RAWR_MAX_BODY_BYTES the server's body limit (payload-too-large scenario only)
//
// The OpenAPILink contract is DERIVED from the manifest (oc.route per procedure); nothing
// about routes is written by hand here. Exit status is 0 when the scenario ran, whatever the
// individual calls returned (the pytest side asserts on the JSON); non-zero only on a crash.
//
// Run by tests/e2e/test_orpc_clients.py.

import { createORPCClient, ORPC_CLIENT_PACKAGE_VERSION, safe } from "@orpc/client";
import { RPCLink } from "@orpc/client/fetch";
import { inferRPCMethodFromContractRouter } from "@orpc/contract";
import { OpenAPILink } from "@orpc/openapi-client/fetch";

import {
  bearer,
  contractRoutes,
  createRecorder,
  deriveContract,
  describe,
  describeError,
  onOrpc,
  readJson,
  requireEnv,
} from "./lib.mjs";

const base = requireEnv("RAWR_BASE_URL").replace(/\/$/, "");
const serviceToken = requireEnv("RAWR_SERVICE_TOKEN");
const apiKey = requireEnv("RAWR_API_KEY");
const manifest = readJson(requireEnv("RAWR_MANIFEST"));

// -- contracts derived from the manifest ----------------------------------------------------
// What /api/orpc publishes: external procedures at their contract path (workflow triggers
// and run routes are published under /api/workflows instead).
const publishedContract = deriveContract(manifest, onOrpc);
// Every procedure (what a first-party RPC front end knows), used to infer RPC methods.
const fullContract = deriveContract(manifest, () => true);
// Internal procedures at the REST path they WOULD have: proves they are not published.
const internalProbeContract = deriveContract(manifest, (proc) => proc.publishedPath === null);

// -- wire capture and recording (lib.mjs) ----------------------------------------------------
/** Successful object results say which of createdAt/updatedAt the client revived as Dates. */
function dateFields(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return {};
  }
  return {
    dateFields: Object.fromEntries(
      ["createdAt", "updatedAt"]
        .filter((key) => key in value)
        .map((key) => [key, value[key] instanceof Date]),
    ),
  };
}

const recorder = createRecorder({ annotate: dateFields });
const { calls, call } = recorder;
const capturingFetch = recorder.fetch;

/** Timestamp of a createdAt/updatedAt value as the client holds it (Date or ISO string). */
function epochMs(value) {
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

// -- clients ----------------------------------------------------------------------------------
const rpc = createORPCClient(
  new RPCLink({ url: `${base}/rpc`, headers: bearer(serviceToken), fetch: capturingFetch }),
);
const rpcGet = createORPCClient(
  new RPCLink({
    url: `${base}/rpc`,
    headers: bearer(serviceToken),
    method: "GET",
    fetch: capturingFetch,
  }),
);
const rpcInferred = createORPCClient(
  new RPCLink({
    url: `${base}/rpc`,
    headers: bearer(serviceToken),
    method: inferRPCMethodFromContractRouter(fullContract),
    fetch: capturingFetch,
  }),
);
const rpcWithExternalKey = createORPCClient(
  new RPCLink({ url: `${base}/rpc`, headers: bearer(apiKey), fetch: capturingFetch }),
);
const rpcAnonymous = createORPCClient(new RPCLink({ url: `${base}/rpc`, fetch: capturingFetch }));

const api = createORPCClient(
  new OpenAPILink(publishedContract, {
    url: `${base}/api/orpc`,
    headers: bearer(apiKey),
    fetch: capturingFetch,
  }),
);
const apiWithServiceToken = createORPCClient(
  new OpenAPILink(publishedContract, {
    url: `${base}/api/orpc`,
    headers: bearer(serviceToken),
    fetch: capturingFetch,
  }),
);
const apiAnonymous = createORPCClient(
  new OpenAPILink(publishedContract, { url: `${base}/api/orpc`, fetch: capturingFetch }),
);
const apiBadKey = createORPCClient(
  new OpenAPILink(publishedContract, {
    url: `${base}/api/orpc`,
    headers: bearer("rawr_not-a-real-key"),
    fetch: capturingFetch,
  }),
);
const apiInternalProbe = createORPCClient(
  new OpenAPILink(internalProbeContract, {
    url: `${base}/api/orpc`,
    headers: bearer(apiKey),
    fetch: capturingFetch,
  }),
);

// -- scenarios --------------------------------------------------------------------------------
const MISSING_ID = 987654321;

async function payloadTooLargeScenario() {
  // A body over the server's limit must come back as the 413 error object on both links,
  // and the connection must stay usable for the next call.
  const limit = Number(requireEnv("RAWR_MAX_BODY_BYTES"));
  const oversized = { title: "too big", body: "x".repeat(limit + 1) };
  await call("rpc.indexDocument.tooLarge", () => rpc.search.indexDocument(oversized));
  await call("openapi.indexDocument.tooLarge", () => api.search.indexDocument(oversized));
  await call("rpc.stats.afterTooLarge", () => rpc.search.stats());
  return {};
}

async function mainScenario() {
  // Writes: A via RPCLink (POST), B via OpenAPILink (POST JSON), C via the inferred-method RPCLink.
  const docA = await call("rpc.indexDocument", () =>
    rpc.search.indexDocument({
      title: "Wire alpha",
      body: "The zebra crossing alpha notes",
      tags: ["a", "b", "wire"],
    }),
  );
  const docB = await call("openapi.indexDocument", () =>
    api.search.indexDocument({
      title: "Wire beta",
      body: "The zebra crossing beta notes",
      tags: ["a", "b"],
    }),
  );
  await call("rpcInferred.indexDocument", () =>
    rpcInferred.search.indexDocument({
      title: "Wire gamma",
      body: "The zebra crossing gamma notes",
      tags: ["a"],
    }),
  );

  const idA = docA?.value?.documentId ?? 1;
  const idB = docB?.value?.documentId ?? 2;

  // Reads of the same documents through every link.
  await call("rpc.getDocument.A", () => rpc.search.getDocument({ documentId: idA }));
  await call("rpcGet.getDocument.A", () => rpcGet.search.getDocument({ documentId: idA }));
  await call("openapi.getDocument.A", () => api.search.getDocument({ documentId: idA }));
  await call("rpc.getDocument.B", () => rpc.search.getDocument({ documentId: idB }));
  await call("openapi.getDocument.B", () => api.search.getDocument({ documentId: idB }));

  // Same instants whichever link read them (RPC revives Dates, OpenAPI gives ISO strings).
  {
    const raw = {};
    for (const [label, fn] of [
      ["rpc", () => rpc.search.getDocument({ documentId: idA })],
      ["openapi", () => api.search.getDocument({ documentId: idA })],
    ]) {
      try {
        const doc = await fn();
        raw[label] = { createdAt: epochMs(doc.createdAt), updatedAt: epochMs(doc.updatedAt) };
      } catch (error) {
        raw[label] = { error: describeError(error) };
      }
    }
    calls["timestamps.A"] = { ok: true, value: raw, wire: [] };
  }

  // Queries: tags array + limit through RPC POST, RPC GET (?data=) and OpenAPI GET (brackets).
  const queryInput = { q: "zebra", tags: ["a", "b"], limit: 5 };
  await call("rpc.query", () => rpc.search.query(queryInput));
  await call("rpcGet.query", () => rpcGet.search.query(queryInput));
  await call("rpcInferred.query", () => rpcInferred.search.query(queryInput));
  await call("openapi.query", () => api.search.query(queryInput));
  await call("rpc.query.limit1", () => rpc.search.query({ q: "zebra", limit: 1 }));
  await call("openapi.query.limit1", () => api.search.query({ q: "zebra", limit: 1 }));

  // Characters a hand-written query-string or envelope parser gets wrong: + & = % space, non-ASCII.
  await call("rpc.indexDocument.special", () =>
    rpc.search.indexDocument({
      title: "Wire delta ünïcode",
      body: "quux: a+b & c=d, 50% ünïcode",
      tags: ["x y", "p+q", "ü&="],
    }),
  );
  const specialInput = { q: "ünïcode", tags: ["p+q", "x y", "ü&="] };
  await call("rpc.query.special", () => rpc.search.query(specialInput));
  await call("rpcGet.query.special", () => rpcGet.search.query(specialInput));
  await call("openapi.query.special", () => api.search.query(specialInput));

  // Internal procedure: RPC only (POST and inferred GET); not published on /api/orpc.
  await call("rpc.stats", () => rpc.search.stats());
  await call("rpcInferred.stats", () => rpcInferred.search.stats());
  await call("openapi.internalProbe.stats", () => apiInternalProbe.search.stats());

  // Declared error: DOCUMENT_NOT_FOUND 404, defined=true, on every link.
  await call("rpc.getDocument.missing", () => rpc.search.getDocument({ documentId: MISSING_ID }));
  await call("rpcGet.getDocument.missing", () =>
    rpcGet.search.getDocument({ documentId: MISSING_ID }),
  );
  await call("openapi.getDocument.missing", () =>
    api.search.getDocument({ documentId: MISSING_ID }),
  );
  {
    // safe() is how many front ends consume errors: [error, data, isDefined, isSuccess]
    const [error, data, isDefined, isSuccess] = await safe(
      rpc.search.getDocument({ documentId: MISSING_ID }),
    );
    calls["rpc.getDocument.missing.safe"] = {
      ok: true,
      value: {
        error: error ? describeError(error) : null,
        data: describe(data),
        isDefined,
        isSuccess,
      },
      wire: [],
    };
  }

  // Input validation.
  await call("rpc.indexDocument.invalid", () => rpc.search.indexDocument({ body: "no title" }));
  await call("openapi.indexDocument.invalid", () => api.search.indexDocument({ body: "no title" }));
  await call("openapi.query.invalidLimit", () => api.search.query({ q: "zebra", limit: 500 }));
  await call("rpcGet.query.invalidLimit", () => rpcGet.search.query({ q: "zebra", limit: 500 }));

  // Unknown procedures / wrong method.
  await call("rpc.unknownProcedure", () => rpc.search.noSuchProcedure({ x: 1 }));
  await call("rpc.unknownCapability", () => rpc.noSuchCapability.anything());
  await call("rpcGet.indexDocument", () =>
    rpcGet.search.indexDocument({ title: "must not be stored via GET" }),
  );

  // Auth matrix as the clients see it.
  await call("rpc.externalKey.stats", () => rpcWithExternalKey.search.stats());
  await call("rpc.externalKey.getDocument", () =>
    rpcWithExternalKey.search.getDocument({ documentId: idA }),
  );
  await call("rpc.anonymous.stats", () => rpcAnonymous.search.stats());
  await call("openapi.anonymous.query", () => apiAnonymous.search.query({ q: "zebra" }));
  await call("openapi.badKey.query", () => apiBadKey.search.query({ q: "zebra" }));
  await call("openapi.serviceToken.getDocument.A", () =>
    apiWithServiceToken.search.getDocument({ documentId: idA }),
  );

  // Stats last: exactly the four documents indexed above (failed calls stored nothing).
  await call("rpc.stats.final", () => rpc.search.stats());
  return { A: idA, B: idB, missing: MISSING_ID };
}

// -- run ------------------------------------------------------------------------------------
const scenarios = { main: mainScenario, "payload-too-large": payloadTooLargeScenario };
const scenarioName = process.env.RAWR_SCENARIO || "main";
if (!(scenarioName in scenarios)) {
  throw new Error(`unknown RAWR_SCENARIO ${scenarioName}`);
}
const ids = await scenarios[scenarioName]();

const summary = {
  scenario: scenarioName,
  versions: {
    "@orpc/client": ORPC_CLIENT_PACKAGE_VERSION,
    node: process.version,
  },
  contract: {
    published: contractRoutes(publishedContract),
    internalProbe: Object.fromEntries(
      Object.entries(internalProbeContract).map(([cap, procs]) => [cap, Object.keys(procs)]),
    ),
  },
  ids,
  calls,
};

process.stdout.write(`${JSON.stringify(summary)}\n`);
