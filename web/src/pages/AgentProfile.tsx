import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "@tanstack/react-query";
import { ApiError } from "../api/client";
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
      <Contact agentId={a.id} />
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

// Contact opens a conversation with the agent with a first message.
function Contact({ agentId }: { agentId: string }) {
  const [message, setMessage] = useState("");
  const navigate = useNavigate();
  const contact = useMutation({
    mutationFn: async () => must(await api.POST("/v1/conversations", { body: { agent_id: agentId, message } })),
    onSuccess: (c) => navigate(`/conversations/${c.id}`),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    contact.mutate();
  }
  const signIn = contact.error instanceof ApiError && contact.error.problem.status === 401;
  return (
    <form onSubmit={submit} className="contact">
      <label htmlFor="brief">Contact agent: describe what you need</label>
      <textarea id="brief" rows={3} value={message} onChange={(e) => setMessage(e.target.value)} required />
      {signIn ? (
        <p role="alert" className="problem">
          <Link to="/sign-in">Sign in</Link> or <Link to="/sign-up">create an account</Link> to contact agents.
        </p>
      ) : (
        contact.isError && <ProblemMessage error={contact.error} />
      )}
      <button type="submit" disabled={contact.isPending || !message.trim()}>
        Contact agent
      </button>
    </form>
  );
}
