// The operations of tests/e2e/test_generated_client.py, typed only by `openapi-typescript`'s
// output for openapi/rawr.yaml (written next to this file as rawr-api.ts by
// tests/e2e/test_typescript_types.py, then `tsc --strict --noEmit`). Each
// `@ts-expect-error` is a promise of the schema: if it stopped being an error, the types
// would have gone loose again.
import type { components, paths } from "./rawr-api";

declare const RAWR_BASE_URL: string;
declare const RAWR_API_KEY: string;

type Schemas = components["schemas"];
type Method = "get" | "post";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Body<O> = O extends { requestBody?: { content: { "application/json": infer B } } }
  ? B
  : never;
type Query<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type Headers<O> = O extends { parameters: { header?: infer H } } ? NonNullable<H> : never;
type Answer<O, S extends number> = O extends {
  responses: { [K in S]: { content: { "application/json": infer R } } };
}
  ? R
  : never;

interface Reply<T> {
  status: number;
  body: T;
}

async function send<T>(
  method: "GET" | "POST",
  path: string,
  options: { query?: object; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const url = new URL(path, RAWR_BASE_URL);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      url.searchParams.append(name, String(item));
    }
  }
  const response = await fetch(url, {
    method,
    headers: {
      Authorization: `Bearer ${RAWR_API_KEY}`,
      "Content-Type": "application/json",
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

// -- search: indexDocument, query ---------------------------------------------------------
type IndexDocument = Operation<"/api/orpc/search/documents", "post">;
type SearchQuery = Operation<"/api/orpc/search/query", "get">;
type GetDocument = Operation<"/api/orpc/search/documents/{documentId}", "get">;

export async function search(): Promise<number> {
  // `body` and `tags` have server defaults: optional, not required.
  const input: Body<IndexDocument> = { title: "Typed clients" };
  const indexed = await send<Answer<IndexDocument, 200>>("POST", "/api/orpc/search/documents", {
    body: input,
  });
  const document: Schemas["Document"] = indexed.body;
  const keywords: string[] = document.keywords; // always present (maybe empty)

  const query: Query<SearchQuery> = { q: "typed" }; // limit and tags are optional
  const found = await send<Answer<SearchQuery, 200>>("GET", "/api/orpc/search/query", { query });
  const first: number | undefined = found.body.results[0]?.documentId;

  const missing = await send<Answer<GetDocument, 404>>("GET", "/api/orpc/search/documents/9");
  const code: "DOCUMENT_NOT_FOUND" | "NOT_FOUND" = missing.body.code;
  // @ts-expect-error: a code getDocument does not declare for 404
  const undeclared: Answer<GetDocument, 404>["code"] = "RUN_NOT_FOUND";
  // @ts-expect-error: strict types: a title is a string, never `true`
  const notAnId: Body<IndexDocument>["title"] = true;
  void [keywords, first, code, undeclared, notAnId];
  return document.documentId;
}

// -- the enrich trigger with an Idempotency-Key, then run polling --------------------------
type Enrich = Operation<"/api/workflows/search/enrich", "post">;
type WorkflowRun = Operation<"/api/workflows/search/runs/{runId}", "get">;
type RunStatus = "queued" | "running" | "sleeping" | "waiting" | "completed" | "failed"
  | "cancelled" | "skipped";

export async function enrich(documentId: number): Promise<Schemas["WorkflowRun"]> {
  const headers: Headers<Enrich> = { "Idempotency-Key": `enrich-${documentId}` };
  const accepted = await send<Answer<Enrich, 202>>("POST", "/api/workflows/search/enrich", {
    body: { documentId } satisfies Body<Enrich>,
    headers: headers as Record<string, string>,
  });
  const queued: RunStatus = accepted.body.status;
  const reused: Answer<Enrich, 422>["code"] = "IDEMPOTENCY_KEY_REUSED";
  // @ts-expect-error: not a code of the enrich trigger
  const other: Answer<Enrich, 422>["code"] = "DESK_NOT_WAITING";
  void [queued, reused, other];

  for (;;) {
    const run = await send<Answer<WorkflowRun, 200>>(
      "GET",
      `/api/workflows/search/runs/${encodeURIComponent(accepted.body.runId)}`,
    );
    const finishedAt: string | null = run.body.finishedAt; // nullable, never absent
    // @ts-expect-error: finishedAt may be null
    const surely: string = run.body.finishedAt;
    void surely;
    if (finishedAt !== null) return run.body;
  }
}

// -- coordination: queue a run, approve its human-wait desk --------------------------------
type QueueRun = Operation<"/api/orpc/coordination/workflows/{workflowId}/run", "post">;
type RunStatusOp = Operation<"/api/orpc/coordination/runs/{runId}", "get">;
type Approve = Operation<"/api/orpc/coordination/runs/{runId}/desks/{deskId}/approve", "post">;

export async function coordination(): Promise<Schemas["ApproveDeskResult"]> {
  const queued = await send<Answer<QueueRun, 200>>(
    "POST",
    "/api/orpc/coordination/workflows/fanout-approval/run",
    { body: { input: { request: "laptop", amount: 900 } } satisfies Body<QueueRun> },
  );
  const runId: string = queued.body.run.runId;
  const status = await send<Answer<RunStatusOp, 200>>("GET", `/api/orpc/coordination/runs/${runId}`);
  const state: "queued" | "running" | "completed" | "failed" = status.body.run.status;
  const deskId: string | undefined = status.body.run.waitingFor?.deskId;
  const workflow: Schemas["WorkflowEnvelope"]["workflow"]["desks"][number]["deskId"] = "approval";
  const decision: Body<Approve> = { decision: "approve", payload: { note: "fine" } };
  // @ts-expect-error: only approve or reject
  const maybe: Body<Approve>["decision"] = "maybe";
  const conflict: Answer<Approve, 409>["code"] = "DESK_NOT_WAITING";
  void [state, workflow, maybe, conflict];
  const approved = await send<Answer<Approve, 200>>(
    "POST",
    `/api/orpc/coordination/runs/${runId}/desks/${deskId ?? "approval"}/approve`,
    { body: decision },
  );
  return approved.body;
}

// -- /api/runs, paged by its cursor parameter ----------------------------------------------
type RunsList = Operation<"/api/runs/", "get">;

export async function allRuns(): Promise<Schemas["RunResource"][]> {
  const runs: Schemas["RunResource"][] = [];
  let query: Query<RunsList> = { limit: 1 };
  for (;;) {
    const page = await send<Answer<RunsList, 200>>("GET", "/api/runs/", { query });
    runs.push(...page.body.results);
    const next: string | null = page.body.next;
    if (next === null) return runs;
    const cursor = new URL(next).searchParams.get("cursor");
    if (cursor === null) return runs;
    query = { limit: 1, cursor };
  }
}
