import { useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, must, type Schemas } from "../../api/client";
import { Field, FormMessage, useSubmit } from "../../ui/forms";
import { Empty, Loading } from "../../ui/states";
import { humanize, when } from "../../ui/format";
import { ProblemMessage } from "../Problem";
import { looksLikeId, More, pinTo, SupportPage, useFilters } from "./shared";

// Suspensions is where support suspends and reinstates agents and users,
// and decides owners' reinstatement requests.
export function Suspensions() {
  return (
    <SupportPage>
      <h1>Suspensions</h1>
      <ReinstatementRequests />
      <SuspendAgentForm />
      <ReinstateAgentForm />
      <UserStandingForm />
    </SupportPage>
  );
}

// agentIdFor turns what support typed (an id, a handle or @handle) into an
// agent id. Only agents on the market can be found by handle (getAgent
// answers 404 for draft, paused and suspended ones).
async function agentIdFor(typed: string): Promise<string> {
  const v = typed.trim().replace(/^@/, "");
  if (looksLikeId(v)) return v;
  const r = await api.GET("/v1/agents/{agentId}", { params: { path: { agentId: v } } });
  if (r.response.status === 404) {
    throw new ApiError({
      type: "https://heepr.dev/problems/not-found",
      title: "Not found",
      status: 404,
      errors: [{ field: "agent", detail: `No agent on the market has the handle @${v}; use the id of a draft or paused agent.` }],
    });
  }
  return must(r).id;
}

function SuspendAgentForm() {
  const [params] = useSearchParams();
  const queries = useQueryClient();
  const [agent, setAgent] = useState(params.get("agent") ?? "");
  const [caseId, setCaseId] = useState(params.get("case") ?? "");
  const [reason, setReason] = useState("");
  const [refundOpen, setRefundOpen] = useState(false);
  const [done, setDone] = useState<Schemas["OwnerAgent"] | null>(null);
  const { error, busy, run } = useSubmit();

  function submit(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    run(async () => {
      const agentId = await agentIdFor(agent);
      try {
        const a = must(
          await api.POST("/v1/agents/{agentId}/suspend", {
            params: { path: { agentId } },
            body: { reason, case_id: caseId.trim() || undefined, refund_open_orders: refundOpen },
          }),
        );
        setDone(a);
        setReason("");
        await queries.invalidateQueries({ queryKey: ["support"] });
      } catch (e) {
        throw pinTo("agent", e);
      }
    });
  }

  return (
    <section aria-labelledby="sup-suspend-agent" className="sup-block">
      <h2 id="sup-suspend-agent">Suspend an agent</h2>
      <form onSubmit={submit}>
        <Field
          label="Agent id or handle"
          name="suspend-agent"
          value={agent}
          onChange={setAgent}
          hint="A handle works for agents on the market; use the id for a draft or paused agent."
          error={error?.field("agent") ?? error?.field("agentId")}
        />
        <Field
          label="Reason for the suspension"
          name="suspend-reason"
          multiline
          rows={3}
          value={reason}
          onChange={setReason}
          hint="Told to the owner and kept in the audit log."
          error={error?.field("reason")}
        />
        <Field
          label="Case id (optional)"
          name="suspend-case"
          required={false}
          value={caseId}
          onChange={setCaseId}
          hint="The case that led to it, if any."
          error={error?.field("case_id")}
        />
        <p className="sup-check">
          <input id="sup-refund-open" type="checkbox" checked={refundOpen} onChange={(e) => setRefundOpen(e.target.checked)} aria-describedby="sup-refund-open-hint" />
          <label htmlFor="sup-refund-open">Also refund orders in progress</label>
          <span id="sup-refund-open-hint" className="muted hint">
            Orders waiting for approval are always refunded; disputed orders stay with their cases.
          </span>
        </p>
        <FormMessage error={error} fields={["agent", "agentId", "reason", "case_id"]} />
        <div>
          <button type="submit" disabled={busy}>
            Suspend agent
          </button>
        </div>
        {done && (
          <p role="status" className="sup-done">
            @{done.handle} is suspended.
          </p>
        )}
      </form>
    </section>
  );
}

function ReinstateAgentForm() {
  const queries = useQueryClient();
  const [agent, setAgent] = useState("");
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<Schemas["OwnerAgent"] | null>(null);
  const { error, busy, run } = useSubmit();

  function submit(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    run(async () => {
      try {
        const a = must(
          await api.POST("/v1/agents/{agentId}/reinstate", { params: { path: { agentId: agent.trim() } }, body: { reason } }),
        );
        setDone(a);
        setReason("");
        await queries.invalidateQueries({ queryKey: ["support"] });
      } catch (e) {
        throw pinTo("agentId", e);
      }
    });
  }

  return (
    <section aria-labelledby="sup-reinstate-agent" className="sup-block">
      <h2 id="sup-reinstate-agent">Reinstate an agent</h2>
      <form onSubmit={submit}>
        <Field
          label="Id of the suspended agent"
          name="reinstate-agent"
          value={agent}
          onChange={setAgent}
          hint="A suspended agent is found by its id only (see its case or the audit log)."
          error={error?.field("agentId")}
        />
        <Field
          label="Reason for reinstating"
          name="reinstate-reason"
          multiline
          rows={3}
          value={reason}
          onChange={setReason}
          hint="Told to the owner and kept in the audit log."
          error={error?.field("reason")}
        />
        <FormMessage error={error} fields={["agentId", "reason"]} />
        <div>
          <button type="submit" disabled={busy}>
            Reinstate agent
          </button>
        </div>
        {done && (
          <p role="status" className="sup-done">
            @{done.handle} is reinstated ({humanize(done.status)}).
          </p>
        )}
      </form>
    </section>
  );
}

function UserStandingForm() {
  const [user, setUser] = useState("");
  const [reason, setReason] = useState("");
  const [standing, setStanding] = useState<Schemas["AccountStanding"] | null>(null);
  const intent = useRef<"suspend" | "reinstate">("suspend");
  const { error, busy, run } = useSubmit();

  function submit(e: FormEvent) {
    e.preventDefault();
    setStanding(null);
    const path = { params: { path: { userId: user.trim() } }, body: { reason } };
    run(async () => {
      try {
        const s =
          intent.current === "suspend"
            ? must(await api.POST("/v1/users/{userId}/suspend", path))
            : must(await api.POST("/v1/users/{userId}/reinstate", path));
        setStanding(s);
        setReason("");
      } catch (e) {
        throw pinTo("userId", e);
      }
    });
  }

  return (
    <section aria-labelledby="sup-user" className="sup-block">
      <h2 id="sup-user">Suspend or reinstate a user</h2>
      <p className="muted">A suspended user can still sign in and read their data, but can change nothing.</p>
      <form onSubmit={submit}>
        <Field label="User id" name="user-id" value={user} onChange={setUser} error={error?.field("userId")} />
        <Field
          label="Reason for the change"
          name="user-reason"
          multiline
          rows={3}
          value={reason}
          onChange={setReason}
          hint="Told to the user and kept in the audit log."
          error={error?.field("reason")}
        />
        <FormMessage error={error} fields={["userId", "reason"]} />
        <div className="sup-actions">
          <button type="submit" disabled={busy} onClick={() => (intent.current = "suspend")}>
            Suspend user
          </button>
          <button type="submit" disabled={busy} onClick={() => (intent.current = "reinstate")}>
            Reinstate user
          </button>
        </div>
        {standing && (
          <p role="status" className="sup-done">
            {standing.suspended
              ? `User ${standing.user_id} is suspended${standing.suspended_at ? ` since ${when(standing.suspended_at)}` : ""}.`
              : `User ${standing.user_id} is in good standing.`}
          </p>
        )}
      </form>
    </section>
  );
}

const requestStatuses: Schemas["ReinstatementStatus"][] = ["open", "granted", "declined"];

function ReinstatementRequests() {
  const filters = useFilters();
  const status = filters.get("requests") || "open"; // "any": every status
  const requests = useInfiniteQuery({
    queryKey: ["support", "reinstatement-requests", status],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(
        await api.GET("/v1/reinstatement-requests", {
          params: {
            query: {
              status: status === "any" ? undefined : (status as Schemas["ReinstatementStatus"]),
              cursor: pageParam || undefined,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = requests.data?.pages.flatMap((p) => p.items) ?? [];
  const [decided, setDecided] = useState("");
  return (
    <section aria-labelledby="sup-requests" className="sup-block">
      <h2 id="sup-requests">Reinstatement requests</h2>
      <div className="filters">
        <label>
          Show requests
          <select value={status} onChange={(e) => filters.set({ requests: e.target.value === "open" ? "" : e.target.value })}>
            {requestStatuses.map((s) => (
              <option key={s} value={s}>
                {s === "open" ? "Open" : s === "granted" ? "Granted" : "Declined"}
              </option>
            ))}
            <option value="any">Any status</option>
          </select>
        </label>
      </div>
      <p role="status" className="sup-done">
        {decided}
      </p>
      {requests.isPending && <Loading what="Loading requests" />}
      {requests.isError && <ProblemMessage error={requests.error} />}
      {requests.isSuccess && items.length === 0 && (
        <Empty>{status === "open" ? "No owner is waiting for a decision." : "No requests with this status."}</Empty>
      )}
      <ul className="sup-list">
        {items.map((r) => (
          <RequestItem key={r.id} request={r} onDecided={setDecided} />
        ))}
      </ul>
      <More show={!!requests.hasNextPage} busy={requests.isFetchingNextPage} onMore={() => requests.fetchNextPage()} label="More requests" />
    </section>
  );
}

// RequestItem is one owner's request; an open one can be granted
// (reinstating the agent) or declined, with a note to the owner.
function RequestItem({ request: r, onDecided }: { request: Schemas["ReinstatementRequest"]; onDecided: (what: string) => void }) {
  const queries = useQueryClient();
  const [note, setNote] = useState("");
  const intent = useRef<"reinstate" | "decline">("reinstate");
  const { error, busy, run } = useSubmit();

  function submit(e: FormEvent) {
    e.preventDefault();
    const body = { reason: note };
    run(async () => {
      if (intent.current === "reinstate") {
        must(await api.POST("/v1/agents/{agentId}/reinstate", { params: { path: { agentId: r.agent_id } }, body }));
        onDecided(`@${r.agent_handle} is reinstated.`);
      } else {
        must(await api.POST("/v1/reinstatement-requests/{requestId}/decline", { params: { path: { requestId: r.id } }, body }));
        onDecided(`The request for @${r.agent_handle} is declined.`);
      }
      await queries.invalidateQueries({ queryKey: ["support", "reinstatement-requests"] });
    });
  }

  return (
    <li className="card">
      <h3>@{r.agent_handle}</h3>
      <p className="muted">
        Asked {when(r.created_at)} · owner <span className="sup-id">{r.owner_id}</span> · agent <span className="sup-id">{r.agent_id}</span>
      </p>
      <p className="sup-text">{r.message}</p>
      <p>Status: {humanize(r.status)}</p>
      {r.status !== "open" && (
        <p className="muted">
          {r.status === "granted" ? "Granted" : "Declined"} {when(r.decided_at)}
          {r.decided_by ? ` by ${r.decided_by}` : ""}
          {r.decision_note ? `: ${r.decision_note}` : ""}
        </p>
      )}
      {r.status === "open" && (
        <form onSubmit={submit} aria-label={`Decide the request for @${r.agent_handle}`}>
          <Field
            label={`Note to the owner of @${r.agent_handle}`}
            name={`decision-${r.id}`}
            multiline
            rows={2}
            value={note}
            onChange={setNote}
            hint="Why; sent to the owner by email and kept in the audit log."
            error={error?.field("reason")}
          />
          <FormMessage error={error} fields={["reason"]} />
          <div className="sup-actions">
            <button type="submit" disabled={busy} onClick={() => (intent.current = "reinstate")}>
              Reinstate @{r.agent_handle}
            </button>
            <button type="submit" disabled={busy} onClick={() => (intent.current = "decline")}>
              Decline @{r.agent_handle}
            </button>
          </div>
        </form>
      )}
    </li>
  );
}
