import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, must, type Schemas } from "../../api/client";
import { Field, FormMessage, useSubmit } from "../../ui/forms";
import { QueryState } from "../../ui/states";
import { humanize, points, when } from "../../ui/format";
import { caseTitle } from "./Cases";
import { age, Scroll, SupportPage, useIdempotencyKey } from "./shared";

type Detail = Schemas["CaseDetail"];
type Case = Schemas["Case"];
type Order = Schemas["Order"];

// CaseDetail is one case's file for support: the flag, the order, the agent,
// deliveries and their files, the conversation and postings, earlier cases,
// and the form that settles it (or its recorded resolution).
export function CaseDetail() {
  return (
    <SupportPage>
      <CaseFile />
    </SupportPage>
  );
}

function CaseFile() {
  const { id = "" } = useParams();
  const detail = useQuery({
    queryKey: ["support", "case", id],
    queryFn: async () => must(await api.GET("/v1/cases/{caseId}", { params: { path: { caseId: id } } })),
  });
  const [justResolved, setJustResolved] = useState(false);
  return (
    <QueryState query={detail} what="Loading the case">
      {(d) => (
        <>
          <h1>Case: {caseTitle(d.case)}</h1>
          <CaseSummary c={d.case} />
          {d.order ? <OrderSection order={d.order} /> : <p className="muted">This case is about no single order.</p>}
          {d.agent && <AgentSection agent={d.agent} caseId={d.case.id} />}
          {d.order && <Deliveries order={d.order} />}
          <ConversationSection messages={d.messages} />
          <Postings postings={d.postings} paidOut={d.paid_out} />
          <EarlierCases cases={d.earlier_cases} />
          {d.case.status === "open" ? (
            <ResolveForm detail={d} onResolved={() => setJustResolved(true)} />
          ) : (
            <Resolution c={d.case} announce={justResolved} />
          )}
        </>
      )}
    </QueryState>
  );
}

function CaseSummary({ c }: { c: Case }) {
  return (
    <dl className="sup-facts">
      <dt>Status</dt>
      <dd>
        {c.status === "open"
          ? "Open"
          : `Resolved ${when(c.resolved_at)}${c.resolution ? (c.resolution.action === "refund" ? " with a refund" : ", dismissed") : ""}`}
      </dd>
      <dt>Opened by</dt>
      <dd>{c.kind === "flag" ? `The customer's flag${c.flagged_by ? ` (user ${c.flagged_by})` : ""}` : "An automatic signal"}</dd>
      <dt>Reason</dt>
      <dd>{humanize(c.reason)}</dd>
      <dt>Opened</dt>
      <dd>
        {when(c.opened_at)} ({age(c.opened_at)} ago)
      </dd>
      <dt>Details</dt>
      <dd className="sup-text">{c.details || <span className="muted">None given.</span>}</dd>
    </dl>
  );
}

function OrderSection({ order }: { order: Order }) {
  return (
    <section aria-labelledby="sup-order">
      <h2 id="sup-order">Order</h2>
      <dl className="sup-facts">
        <dt>Title</dt>
        <dd>
          <Link to={`/orders/${order.id}`}>{order.snapshot.title}</Link>
        </dd>
        <dt>Price</dt>
        <dd>{points(order.price)}</dd>
        <dt>Status</dt>
        <dd>
          {humanize(order.status)}
          {order.late ? " (late)" : ""}
        </dd>
        <dt>Customer</dt>
        <dd className="sup-id">user {order.customer_id}</dd>
        {order.deadline && (
          <>
            <dt>Deadline</dt>
            <dd>{when(order.deadline)}</dd>
          </>
        )}
        {order.disputed_at && (
          <>
            <dt>Flagged</dt>
            <dd>{when(order.disputed_at)}</dd>
          </>
        )}
        <dt>Revisions left</dt>
        <dd>
          {order.revisions_left} of {order.snapshot.revisions}
        </dd>
        {order.refunded_points != null && (
          <>
            <dt>Refunded</dt>
            <dd>{points(order.refunded_points)}</dd>
          </>
        )}
      </dl>
      <details>
        <summary>What was agreed</summary>
        <p className="sup-text">{order.snapshot.description}</p>
        <h3>Acceptance criteria</h3>
        <ul>
          {order.snapshot.criteria.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
        <p className="muted">
          {humanize(order.snapshot.category)} · {order.snapshot.delivery_days} days · {order.snapshot.revisions} free revisions · settings
          version {order.snapshot.settings_version}
        </p>
      </details>
      {order.revision_requests.length > 0 && (
        <>
          <h3>Revision requests</h3>
          <ol>
            {order.revision_requests.map((r) => (
              <li key={r.number}>
                <p className="muted">{when(r.requested_at)}</p>
                <p className="sup-text">{r.notes}</p>
                {r.unmet_criteria.length > 0 && <p>Not met: {r.unmet_criteria.join("; ")}</p>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function AgentSection({ agent, caseId }: { agent: Schemas["CaseAgent"]; caseId: string }) {
  const suspend = `/support/suspensions?agent=${encodeURIComponent(agent.id)}&case=${encodeURIComponent(caseId)}`;
  return (
    <section aria-labelledby="sup-agent">
      <h2 id="sup-agent">Agent</h2>
      <dl className="sup-facts">
        <dt>Agent</dt>
        <dd>
          {agent.name} (<Link to={`/agents/${agent.handle}`}>@{agent.handle}</Link>)
        </dd>
        <dt>Agent id</dt>
        <dd className="sup-id">{agent.id}</dd>
        <dt>Status</dt>
        <dd>{humanize(agent.status)}</dd>
        <dt>Owner</dt>
        <dd className="sup-id">user {agent.owner_id}</dd>
        <dt>Missed deadlines</dt>
        <dd>
          {agent.missed_deadlines_30d} in the last 30 days, {agent.missed_deadlines} in all
        </dd>
        <dt>Completed orders</dt>
        <dd>{agent.completed_orders}</dd>
      </dl>
      {agent.status !== "suspended" && (
        <p>
          <Link to={suspend}>Suspend @{agent.handle}</Link>
        </p>
      )}
    </section>
  );
}

function Deliveries({ order }: { order: Order }) {
  const downloadable = order.status === "disputed";
  return (
    <section aria-labelledby="sup-deliveries">
      <h2 id="sup-deliveries">Deliveries</h2>
      {order.deliveries.length === 0 && <p className="muted">Nothing was delivered.</p>}
      {order.deliveries.length > 0 && !downloadable && (
        <p className="muted">Support can download files only while the order is disputed.</p>
      )}
      <ol className="sup-list">
        {order.deliveries.map((d) => (
          <li key={d.id} className="card">
            <h3>
              Delivery {d.version} · {humanize(d.status)}
            </h3>
            <p className="muted">
              Delivered {when(d.created_at)}
              {d.reviewed_at ? ` · reviewed ${when(d.reviewed_at)}` : ""}
            </p>
            {d.message && <p className="sup-text">{d.message}</p>}
            {d.reject_note && <p className="sup-text">Owner's rejection note: {d.reject_note}</p>}
            {d.files.length === 0 ? (
              <p className="muted">No files.</p>
            ) : (
              <ul>
                {d.files.map((f) => (
                  <li key={f.id}>
                    {downloadable ? (
                      <a href={`/v1/files/${encodeURIComponent(f.id)}`} download={f.name}>
                        Download {f.name}
                      </a>
                    ) : (
                      f.name
                    )}{" "}
                    <span className="muted">
                      ({size(f.size)}, {f.content_type})
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function ConversationSection({ messages }: { messages: Schemas["Message"][] }) {
  return (
    <section aria-labelledby="sup-conversation">
      <h2 id="sup-conversation">Conversation</h2>
      {messages.length === 0 ? (
        <p className="muted">No messages.</p>
      ) : (
        <ol className="messages">
          {messages.map((m) => (
            <li key={m.id} className={`message ${m.author_kind}`}>
              <p className="muted">
                {m.author_kind} · {when(m.created_at)}
              </p>
              <p className="body">{m.body}</p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Postings({ postings, paidOut }: { postings: Schemas["OrderPosting"][]; paidOut: boolean }) {
  return (
    <section aria-labelledby="sup-postings">
      <h2 id="sup-postings">Postings</h2>
      <p className="muted">{paidOut ? "The escrow was paid out to the owner." : "The escrow has not been paid out."}</p>
      {postings.length === 0 ? (
        <p className="muted">No postings.</p>
      ) : (
        <Scroll label="Postings table">
          <table className="sup-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Amount</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Memo</th>
              </tr>
            </thead>
            <tbody>
              {postings.map((p) => (
                <tr key={p.id}>
                  <td>{when(p.created_at)}</td>
                  <td>{humanize(p.kind)}</td>
                  <td>{points(p.amount)}</td>
                  <td className="sup-id">{p.from_account}</td>
                  <td className="sup-id">{p.to_account}</td>
                  <td>{p.memo}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
    </section>
  );
}

function EarlierCases({ cases }: { cases: Case[] }) {
  return (
    <section aria-labelledby="sup-earlier">
      <h2 id="sup-earlier">The agent's other cases</h2>
      {cases.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {cases.map((c) => (
            <li key={c.id}>
              <Link to={`/support/cases/${c.id}`}>{caseTitle(c)}</Link>{" "}
              <span className="muted">
                · opened {when(c.opened_at)} · {c.status}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const resolveFields = ["action", "refund_amount", "refund_source", "note"];

// ResolveForm settles an open case: a refund (full price by default; after
// payout, from the owner or as platform goodwill) or a dismissal.
function ResolveForm({ detail, onResolved }: { detail: Detail; onResolved: () => void }) {
  const queries = useQueryClient();
  const c = detail.case;
  const price = detail.order?.price;
  const refundable = c.kind === "flag" && price !== undefined;
  const [action, setAction] = useState<"refund" | "dismiss">(refundable ? "refund" : "dismiss");
  const [amount, setAmount] = useState(price !== undefined ? String(price) : "");
  const [source, setSource] = useState<"owner_clawback" | "platform_goodwill">("owner_clawback");
  const [note, setNote] = useState("");
  const { error, busy, run } = useSubmit();
  const keyFor = useIdempotencyKey();

  function submit(e: FormEvent) {
    e.preventDefault();
    const body: Schemas["ResolveCaseRequest"] =
      action === "refund"
        ? { action, refund_amount: Number(amount), refund_source: detail.paid_out ? source : undefined, note }
        : { action, note };
    run(async () => {
      try {
        const resolved = must(
          await api.POST("/v1/cases/{caseId}/resolve", {
            params: { path: { caseId: c.id }, header: { "Idempotency-Key": keyFor(body) } },
            body,
          }),
        );
        queries.setQueryData<Detail>(["support", "case", c.id], (d) => (d ? { ...d, case: resolved } : d));
        onResolved();
        await queries.invalidateQueries({ queryKey: ["support"] });
      } catch (e) {
        // Someone else settled it first: show their resolution.
        if (e instanceof ApiError && e.problem.type.endsWith("/case-resolved")) await queries.invalidateQueries({ queryKey: ["support"] });
        throw e;
      }
    });
  }

  const actionError = error?.field("action");
  const sourceError = error?.field("refund_source");
  return (
    <section aria-labelledby="sup-resolve">
      <h2 id="sup-resolve">Resolve</h2>
      <form onSubmit={submit}>
        <fieldset aria-describedby={actionError ? "sup-action-error" : undefined}>
          <legend>Outcome</legend>
          <label>
            <input
              type="radio"
              name="action"
              value="refund"
              checked={action === "refund"}
              disabled={!refundable}
              onChange={() => setAction("refund")}
            />{" "}
            Refund
          </label>
          <label>
            <input type="radio" name="action" value="dismiss" checked={action === "dismiss"} onChange={() => setAction("dismiss")} /> Dismiss
          </label>
          {!refundable && <p className="muted hint">Only a flagged order can be refunded here; suspend the agent to refund its orders.</p>}
          {actionError && (
            <p id="sup-action-error" className="problem">
              {actionError}
            </p>
          )}
        </fieldset>
        {action === "refund" && price !== undefined && (
          <>
            <Field
              label="Points back to the customer"
              name="refund_amount"
              type="number"
              min={1}
              max={price}
              value={amount}
              onChange={setAmount}
              hint={`At most the price, ${points(price)}; the rest of the escrow goes to the owner.`}
              error={error?.field("refund_amount")}
            />
            {detail.paid_out && (
              <fieldset aria-describedby={sourceError ? "sup-source-error" : "sup-source-hint"}>
                <legend>Refund source</legend>
                <p id="sup-source-hint" className="muted hint">
                  The escrow was already paid to the owner.
                </p>
                <label>
                  <input
                    type="radio"
                    name="refund_source"
                    value="owner_clawback"
                    checked={source === "owner_clawback"}
                    onChange={() => setSource("owner_clawback")}
                  />{" "}
                  Claw back from the owner (the platform covers what the owner lacks)
                </label>
                <label>
                  <input
                    type="radio"
                    name="refund_source"
                    value="platform_goodwill"
                    checked={source === "platform_goodwill"}
                    onChange={() => setSource("platform_goodwill")}
                  />{" "}
                  Platform goodwill (the owner keeps the payout)
                </label>
                {sourceError && (
                  <p id="sup-source-error" className="problem">
                    {sourceError}
                  </p>
                )}
              </fieldset>
            )}
          </>
        )}
        <Field
          label="Note"
          name="note"
          multiline
          rows={3}
          value={note}
          onChange={setNote}
          hint="Why: told to the customer and the owner, and kept in the audit log."
          error={error?.field("note")}
        />
        <FormMessage error={error} fields={resolveFields} />
        <div>
          <button type="submit" disabled={busy}>
            {busy ? "Resolving…" : "Resolve case"}
          </button>
        </div>
      </form>
    </section>
  );
}

// Resolution shows how a case was settled, with the refund's split.
function Resolution({ c, announce }: { c: Case; announce: boolean }) {
  const r = c.resolution;
  return (
    <section aria-labelledby="sup-resolution">
      <h2 id="sup-resolution">Resolution</h2>
      {announce && (
        <p role="status" className="sup-done">
          The case is resolved.
        </p>
      )}
      {!r ? (
        <p className="muted">Resolved {when(c.resolved_at)}.</p>
      ) : (
        <dl className="sup-facts">
          <dt>Outcome</dt>
          <dd>{r.action === "refund" ? "Refunded" : "Dismissed"}</dd>
          <dt>Note</dt>
          <dd className="sup-text">{r.note}</dd>
          <dt>Resolved by</dt>
          <dd>
            <span className="sup-id">{r.resolved_by}</span>, {when(c.resolved_at)}
          </dd>
          {r.action === "refund" && (
            <>
              <dt>Refunded to the customer</dt>
              <dd>{points(r.refunded)}</dd>
              <dt>From the escrow</dt>
              <dd>{points(r.from_escrow)}</dd>
              <dt>Clawed back from the owner</dt>
              <dd>{points(r.clawed_back)}</dd>
              <dt>Platform goodwill</dt>
              <dd>{points(r.goodwill)}</dd>
              <dt>Released to the owner</dt>
              <dd>{points(r.to_owner)}</dd>
            </>
          )}
        </dl>
      )}
    </section>
  );
}
