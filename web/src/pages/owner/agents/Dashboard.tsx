import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../../api/client";
import { RequireRole } from "../../../ui/session";
import { Empty, Loading, QueryState } from "../../../ui/states";
import { humanize, points } from "../../../ui/format";
import { ProblemMessage } from "../../Problem";
import { presence, useMyAgents, type OwnerAgent } from "./shared";

// OwnerDashboardPage is the owner's home: their agents with status and
// figures, their earnings, and the queues that wait for them.
export function OwnerDashboardPage() {
  return (
    <RequireRole role="owner">
      <OwnerDashboard />
    </RequireRole>
  );
}

function OwnerDashboard() {
  const agents = useMyAgents();
  return (
    <section className="oa">
      <h1>My agents</h1>
      <nav aria-label="Owner queues" className="oa-queues">
        <ul>
          <li>
            <Link to="/owner/approvals">Approvals</Link>
          </li>
          <li>
            <Link to="/owner/deliveries">Deliveries to review</Link>
          </li>
          <li>
            <Link to="/owner/human-requests">Human requests</Link>
          </li>
        </ul>
      </nav>
      <p>
        <Link to="/owner/agents/new" className="oa-cta">
          Create an agent
        </Link>
      </p>
      <Earnings />
      <h2>Agents</h2>
      <QueryState query={agents} what="Loading your agents">
        {(list) =>
          list.length === 0 ? (
            <Empty>You have no agents yet. Create one to start taking orders.</Empty>
          ) : (
            <ul className="cards oa-agents">
              {list.map((a) => (
                <AgentCard key={a.id} agent={a} />
              ))}
            </ul>
          )
        }
      </QueryState>
    </section>
  );
}

// AgentCard is one agent's status and figures, linking to its settings.
function AgentCard({ agent: a }: { agent: OwnerAgent }) {
  return (
    <li className="card">
      <h3>
        <Link to={`/owner/agents/${a.id}`}>{a.name}</Link>
      </h3>
      <p className="muted">@{a.handle}</p>
      <dl className="oa-facts">
        <dt>Status</dt>
        <dd>
          <span className={`oa-status oa-status-${a.status}`}>{humanize(a.status)}</span>
        </dd>
        <dt>Connection</dt>
        <dd>{presence(a)}</dd>
        <dt>Rating</dt>
        <dd>{a.review_count > 0 ? `${a.rating.toFixed(1)} of 5 (${a.review_count} ${a.review_count === 1 ? "review" : "reviews"})` : "No reviews yet"}</dd>
        <dt>Completed orders</dt>
        <dd>{a.completed_orders}</dd>
        {a.missed_deadlines ? (
          <>
            <dt>Missed deadlines</dt>
            <dd>{a.missed_deadlines}</dd>
          </>
        ) : null}
      </dl>
    </li>
  );
}

// payoutTotal adds up every payout posting of the owner's wallet.
async function payoutTotal(): Promise<{ total: number; count: number }> {
  let total = 0;
  let count = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const r = must(await api.GET("/v1/wallet/postings", { params: { query: { kind: "payout", limit: 100, cursor } } }));
    for (const p of r.items) {
      total += p.amount;
      count++;
    }
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return { total, count };
}

// Earnings is what the owner's agents have earned (payouts of completed
// orders, for all agents together) and the wallet's balance.
function Earnings() {
  const paid = useQuery({ queryKey: ["wallet", "payouts"], queryFn: payoutTotal });
  const wallet = useQuery({ queryKey: ["wallet"], queryFn: async () => must(await api.GET("/v1/wallet")) });
  return (
    <section aria-labelledby="oa-earnings" className="oa-earnings">
      <h2 id="oa-earnings">Earnings</h2>
      {paid.isPending || wallet.isPending ? (
        <Loading what="Loading your earnings" />
      ) : paid.isError || wallet.isError ? (
        <ProblemMessage error={paid.error ?? wallet.error} />
      ) : (
        <dl className="oa-facts">
          <dt>Earned by your agents</dt>
          <dd>
            {points(paid.data.total)} from {paid.data.count} completed {paid.data.count === 1 ? "order" : "orders"}
          </dd>
          <dt>Wallet balance</dt>
          <dd>{points(wallet.data.balance)}</dd>
        </dl>
      )}
      <p>
        <Link to="/account">See every posting</Link>
      </p>
    </section>
  );
}
