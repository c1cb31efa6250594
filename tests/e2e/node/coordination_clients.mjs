// Drive RAWR HQ's coordination capability with the REAL oRPC 1.16.1 clients and print ONE
// JSON object describing what a front end would see (values, thrown errors, wire traffic).
//
//   RPCLink     (@orpc/client)          -> /rpc/coordination/<procedure>, first-party token
//   OpenAPILink (@orpc/openapi-client)  -> /api/orpc/coordination/...,    external API key
//
// Env:
//   RAWR_BASE_URL        e.g. http://localhost:8000 (no trailing slash needed)
//   RAWR_SERVICE_TOKEN   first-party service token (Bearer) for /rpc
//   RAWR_API_KEY         external API key (Bearer) for /api/orpc
//   RAWR_MANIFEST        path to rawr_site/manifest.json (the generated route table)
//   RAWR_EXAMPLES_DIR    coordination/examples (linear-review.json, fanout-approval.json)
//   RAWR_POLL_TIMEOUT_MS how long to wait for a run to park or finish (default 30000)
//
// The OpenAPILink contract is DERIVED from the manifest's coordination entries whose
// publishedPath starts with /api/orpc/. Runs are executed by a real worker (the pytest side
// starts one); the script polls like a front end would. Exit status is 0 when the scenario
// ran, whatever the individual calls returned; non-zero only on a crash.
//
// Run by tests/e2e/test_coordination_clients.py.

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

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
const examplesDir = requireEnv("RAWR_EXAMPLES_DIR");
const pollTimeoutMs = Number(process.env.RAWR_POLL_TIMEOUT_MS || 30000);

const LINEAR = "linear-review";
const FANOUT = "fanout-approval";
const example = (workflowId) => readJson(join(examplesDir, `${workflowId}.json`));

// -- contracts derived from the manifest ----------------------------------------------------
const only = { capabilities: ["coordination"] };
const publishedContract = deriveContract(manifest, onOrpc, only);
const fullContract = deriveContract(manifest, () => true, only);

// -- recording and clients ------------------------------------------------------------------
const { calls, call, fetch: capturingFetch } = createRecorder();

const rpc = createORPCClient(
  new RPCLink({ url: `${base}/rpc`, headers: bearer(serviceToken), fetch: capturingFetch }),
).coordination;
// GET for the reads (listWorkflows, getWorkflow, getRunStatus, getRunTimeline), like an app
// that infers methods from the contract.
const rpcInferred = createORPCClient(
  new RPCLink({
    url: `${base}/rpc`,
    headers: bearer(serviceToken),
    method: inferRPCMethodFromContractRouter(fullContract),
    fetch: capturingFetch,
  }),
).coordination;
const api = createORPCClient(
  new OpenAPILink(publishedContract, {
    url: `${base}/api/orpc`,
    headers: bearer(apiKey),
    fetch: capturingFetch,
  }),
).coordination;
const links = { rpc, api };

/** Call until `done(record)` (or time runs out); keep the last call under `label`. */
const polls = {};
async function poll(label, fn, done) {
  const deadline = Date.now() + pollTimeoutMs;
  let attempts = 0;
  for (;;) {
    attempts += 1;
    await call(label, fn);
    const record = calls[label];
    if (done(record) || Date.now() > deadline) {
      polls[label] = { attempts, satisfied: done(record) };
      return record;
    }
    await sleep(100);
  }
}

const finished = (record) => record.ok && ["completed", "failed"].includes(record.value.run.status);
const lastTimelineEvent = (record) => (record.ok ? record.value.timeline.at(-1) : undefined);

// -- scenario ---------------------------------------------------------------------------------
// Workflows: saved through one link, read and validated through the other.
await call("rpc.listWorkflows.empty", () => rpc.listWorkflows());
await call("rpc.saveWorkflow.linear", () => rpc.saveWorkflow({ workflow: example(LINEAR) }));
await call("api.saveWorkflow.fanout", () => api.saveWorkflow({ workflow: example(FANOUT) }));
await call("api.getWorkflow.linear", () => api.getWorkflow({ workflowId: LINEAR }));
await call("rpc.getWorkflow.fanout", () => rpc.getWorkflow({ workflowId: FANOUT }));
await call("rpcInferred.getWorkflow.linear", () => rpcInferred.getWorkflow({ workflowId: LINEAR }));
await call("rpc.validateWorkflow.linear", () => rpc.validateWorkflow({ workflowId: LINEAR }));
await call("api.validateWorkflow.fanout", () => api.validateWorkflow({ workflowId: FANOUT }));
await call("api.listWorkflows", () => api.listWorkflows());
await call("rpcInferred.listWorkflows", () => rpcInferred.listWorkflows());

// Errors, the same call on both links.
const unknownKind = example(LINEAR);
unknownKind.desks[1].kind = "desk:unknown";
const missingDesks = example(LINEAR);
delete missingDesks.desks;
const errorCases = {
  "getWorkflow.missing": (c) => c.getWorkflow({ workflowId: "no-such-workflow" }),
  "getWorkflow.unsafeId": (c) => c.getWorkflow({ workflowId: "bad id!" }),
  "validateWorkflow.missing": (c) => c.validateWorkflow({ workflowId: "no-such-workflow" }),
  "saveWorkflow.unknownKind": (c) => c.saveWorkflow({ workflow: unknownKind }),
  "saveWorkflow.missingDesks": (c) => c.saveWorkflow({ workflow: missingDesks }),
  "queueRun.missingWorkflow": (c) => c.queueRun({ workflowId: "no-such-workflow" }),
  "queueRun.unsafeRunId": (c) => c.queueRun({ workflowId: LINEAR, runId: "../x" }),
  "getRunStatus.missing": (c) => c.getRunStatus({ runId: "no-such-run" }),
  "getRunTimeline.missing": (c) => c.getRunTimeline({ runId: "no-such-run" }),
  "approveDesk.missingRun": (c) =>
    c.approveDesk({ runId: "no-such-run", deskId: "approval", decision: "approve" }),
  "approveDesk.maybe": (c) =>
    c.approveDesk({ runId: "no-such-run", deskId: "approval", decision: "maybe" }),
  // runId is a path param on /api/orpc: OpenAPILink sends runs/..%2Fx
  "getRunStatus.slashRunId": (c) => c.getRunStatus({ runId: "../x" }),
};
for (const [name, fn] of Object.entries(errorCases)) {
  for (const [linkName, link] of Object.entries(links)) {
    await call(`${linkName}.${name}`, () => fn(link));
  }
}
{
  // safe() is how many front ends consume errors: [error, data, isDefined, isSuccess]
  const [error, data, isDefined, isSuccess] = await safe(
    api.getWorkflow({ workflowId: "no-such-workflow" }),
  );
  calls["api.getWorkflow.missing.safe"] = {
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
await call("api.listWorkflows.afterErrors", () => api.listWorkflows());

// Runs: linear-review twice with one runId through RPC, once through OpenAPI (server id).
const linearInput = { ticket: "T-1", body: "through RPCLink" };
await call("rpc.queueRun.linear", () =>
  rpc.queueRun({ workflowId: LINEAR, runId: "cc-linear-rpc", input: linearInput }),
);
await call("rpc.queueRun.linear.again", () =>
  rpc.queueRun({ workflowId: LINEAR, runId: "cc-linear-rpc", input: linearInput }),
);
const apiLinear = await call("api.queueRun.linear", () =>
  api.queueRun({ workflowId: LINEAR, input: { ticket: "T-2" } }),
);
const apiLinearRunId = apiLinear?.value?.run?.runId ?? "missing";
// fan-out: one run to approve over OpenAPI, one to reject over RPC.
const fanoutInput = { request: "new laptop", amount: 1200 };
await call("api.queueRun.fanout", () =>
  api.queueRun({ workflowId: FANOUT, runId: "cc-fanout-api", input: fanoutInput }),
);
await call("rpc.queueRun.fanout", () =>
  rpc.queueRun({ workflowId: FANOUT, runId: "cc-fanout-rpc", input: { request: "yacht" } }),
);

await poll("rpc.getRunStatus.linear", () => rpc.getRunStatus({ runId: "cc-linear-rpc" }), finished);
await poll("api.getRunStatus.linear", () => api.getRunStatus({ runId: apiLinearRunId }), finished);
await call("api.getRunStatus.linear.rpcRun", () => api.getRunStatus({ runId: "cc-linear-rpc" }));
await call("rpcInferred.getRunStatus.linear", () =>
  rpcInferred.getRunStatus({ runId: "cc-linear-rpc" }),
);
await call("rpc.getRunTimeline.linear", () => rpc.getRunTimeline({ runId: "cc-linear-rpc" }));
await call("api.getRunTimeline.linear", () => api.getRunTimeline({ runId: "cc-linear-rpc" }));

// Wait for both fan-out runs to park at "approval", as a front end would: by the timeline,
// then by the 409 that approving the next desk gets (its data says the run is waiting).
for (const [linkName, runId] of [
  ["api", "cc-fanout-api"],
  ["rpc", "cc-fanout-rpc"],
]) {
  const link = links[linkName];
  await poll(
    `${linkName}.getRunTimeline.fanout.parked`,
    () => link.getRunTimeline({ runId }),
    (record) => {
      const last = lastTimelineEvent(record);
      return last?.type === "desk.started" && last?.deskId === "approval";
    },
  );
  await poll(
    `${linkName}.approveDesk.ship.notWaiting`,
    () => link.approveDesk({ runId, deskId: "ship", decision: "approve" }),
    (record) => !record.ok && record.error.data?.runStatus === "waiting",
  );
  await call(`${linkName}.getRunStatus.fanout.parked`, () => link.getRunStatus({ runId }));
}
await call("api.approveDesk.approve", () =>
  api.approveDesk({
    runId: "cc-fanout-api",
    deskId: "approval",
    decision: "approve",
    payload: { note: "within budget" },
  }),
);
await call("rpc.approveDesk.reject", () =>
  rpc.approveDesk({
    runId: "cc-fanout-rpc",
    deskId: "approval",
    decision: "reject",
    payload: { reason: "too costly" },
  }),
);
await poll("api.getRunStatus.fanout", () => api.getRunStatus({ runId: "cc-fanout-api" }), finished);
await poll("rpc.getRunStatus.fanout", () => rpc.getRunStatus({ runId: "cc-fanout-rpc" }), finished);
await call("api.getRunTimeline.fanout", () => api.getRunTimeline({ runId: "cc-fanout-api" }));
await call("rpc.getRunTimeline.fanoutRejected", () =>
  rpc.getRunTimeline({ runId: "cc-fanout-rpc" }),
);
await call("api.getRunTimeline.fanoutRejected", () =>
  api.getRunTimeline({ runId: "cc-fanout-rpc" }),
);
// Nothing is waiting any more.
for (const [linkName, link] of Object.entries(links)) {
  await call(`${linkName}.approveDesk.afterDone`, () =>
    link.approveDesk({ runId: "cc-fanout-api", deskId: "approval", decision: "approve" }),
  );
}

// -- summary ------------------------------------------------------------------------------------
const summary = {
  versions: { "@orpc/client": ORPC_CLIENT_PACKAGE_VERSION, node: process.version },
  contract: { published: contractRoutes(publishedContract) },
  ids: { apiLinearRunId },
  polls,
  calls,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
