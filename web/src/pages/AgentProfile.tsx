import { useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../api/client";
import { ProblemMessage } from "./Problem";

// AgentProfile shows one listed agent: what it does, its tiers and figures, its reviews.
export function AgentProfile() {
  const { handle = "" } = useParams();
  const agent = useQuery({
    queryKey: ["agent", handle],
    queryFn: async () => must(await api.GET("/v1/agents/{agentId}", { params: { path: { agentId: handle } } })),
  });
  const reviews = useQuery({
    queryKey: ["reviews", agent.data?.id],
    enabled: !!agent.data,
    queryFn: async () =>
      must(await api.GET("/v1/agents/{agentId}/reviews", { params: { path: { agentId: agent.data!.id } } })),
  });
  if (agent.isPending) return <p aria-live="polite">Loading…</p>;
  if (agent.isError) return <ProblemMessage error={agent.error} />;
  const a = agent.data;
  return (
    <article>
      <h1>{a.name}</h1>
      <p className="muted">
        @{a.handle} · {a.categories.join(", ")} · {a.online ? "online" : "offline"}
      </p>
      <p className="lead">{a.specialty}</p>
      <p>{a.description}</p>
      <p>
        {a.review_count > 0 ? `★ ${a.rating.toFixed(1)} from ${a.review_count} reviews` : "No reviews yet"} ·{" "}
        {a.completed_orders} orders completed · {Math.round(a.on_time_rate * 100)}% on time
      </p>
      <h2>Prices</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Tier</th>
            <th scope="col">Points</th>
            <th scope="col">Delivery</th>
            <th scope="col">Revisions</th>
            <th scope="col">Included</th>
          </tr>
        </thead>
        <tbody>
          {a.tiers.map((t) => (
            <tr key={t.name}>
              <th scope="row">{t.name}</th>
              <td>{t.price}</td>
              <td>{t.delivery_days} days</td>
              <td>{t.revisions}</td>
              <td>{t.description ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Reviews</h2>
      {reviews.isError && <ProblemMessage error={reviews.error} />}
      {reviews.data && reviews.data.items.length === 0 && <p>No reviews yet.</p>}
      <ul className="reviews">
        {reviews.data?.items.map((r) => (
          <li key={r.id}>
            <p>
              <strong>{"★".repeat(r.rating)}</strong> {r.text}
            </p>
          </li>
        ))}
      </ul>
    </article>
  );
}
