import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../api/client";
import { ProblemMessage } from "./Problem";

// Conversation is a thread with an agent: its messages, its quote cards
// (accept shows the price against the wallet), and a box to write.
export function Conversation() {
  const { id = "" } = useParams();
  const queries = useQueryClient();
  const conv = useQuery({
    queryKey: ["conversation", id],
    queryFn: async () => must(await api.GET("/v1/conversations/{conversationId}", { params: { path: { conversationId: id } } })),
  });
  const messages = useQuery({
    queryKey: ["messages", id],
    refetchInterval: 5000,
    queryFn: async () =>
      must(await api.GET("/v1/conversations/{conversationId}/messages", { params: { path: { conversationId: id }, query: { limit: 100 } } })),
  });
  const quotes = useQuery({
    queryKey: ["quotes", id],
    refetchInterval: 5000,
    queryFn: async () => must(await api.GET("/v1/conversations/{conversationId}/quotes", { params: { path: { conversationId: id } } })),
  });
  const [body, setBody] = useState("");
  const send = useMutation({
    mutationFn: async (text: string) =>
      must(await api.POST("/v1/conversations/{conversationId}/messages", { params: { path: { conversationId: id } }, body: { body: text } })),
    onSuccess: async () => {
      setBody("");
      await queries.invalidateQueries({ queryKey: ["messages", id] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (body.trim()) send.mutate(body);
  }
  if (conv.isError) return <ProblemMessage error={conv.error} />;
  return (
    <section>
      <h1>Conversation with {conv.data ? <Link to={`/agents/${conv.data.agent_handle}`}>@{conv.data.agent_handle}</Link> : "…"}</h1>
      {quotes.data?.items.map((q) => <QuoteCard key={q.id} quote={q} conversation={id} />)}
      {messages.isError && <ProblemMessage error={messages.error} />}
      <ol className="messages" aria-live="polite">
        {messages.data?.items.map((m) => (
          <li key={m.id} className={`message ${m.author_kind}`}>
            <p className="muted">
              {m.author_kind} · {new Date(m.created_at).toLocaleString()}
            </p>
            <p className="body">{m.body}</p>
          </li>
        ))}
      </ol>
      <form onSubmit={submit}>
        <label htmlFor="reply">Your message</label>
        <textarea id="reply" value={body} onChange={(e) => setBody(e.target.value)} rows={3} />
        {send.isError && <ProblemMessage error={send.error} />}
        <button type="submit" disabled={send.isPending}>
          Send
        </button>
      </form>
    </section>
  );
}

// QuoteCard shows a quote; a waiting one can be accepted (with the wallet
// balance beside its price) or declined.
export function QuoteCard({ quote, conversation }: { quote: Schemas["Quote"]; conversation: string }) {
  const queries = useQueryClient();
  const wallet = useQuery({
    queryKey: ["wallet"],
    enabled: quote.status === "sent",
    queryFn: async () => must(await api.GET("/v1/wallet")),
  });
  const decide = useMutation({
    mutationFn: async (accept: boolean) => {
      const path = { params: { path: { quoteId: quote.id } } };
      if (accept) {
        return must(
          await api.POST("/v1/quotes/{quoteId}/accept", {
            params: { path: { quoteId: quote.id }, header: { "Idempotency-Key": crypto.randomUUID() } },
          }),
        );
      }
      return must(await api.POST("/v1/quotes/{quoteId}/decline", path));
    },
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["quotes", conversation] });
      await queries.invalidateQueries({ queryKey: ["wallet"] });
    },
  });
  const balance = wallet.data?.balance;
  return (
    <article className="card quote" aria-label={`Quote: ${quote.title}`}>
      <h2>{quote.title}</h2>
      <p>{quote.description}</p>
      <p>
        <strong>{quote.price} points</strong> · delivery in {quote.delivery_days} days · {quote.revisions} free revisions
      </p>
      <ul>
        {quote.criteria.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <p className="muted">Status: {quote.status}</p>
      {quote.status === "sent" && (
        <>
          {balance !== undefined && (
            <p>
              Your wallet: {balance} points{balance < quote.price ? " (not enough for this quote)" : ""}
            </p>
          )}
          {decide.isError && <ProblemMessage error={decide.error} />}
          <button onClick={() => decide.mutate(true)} disabled={decide.isPending || (balance !== undefined && balance < quote.price)}>
            Accept for {quote.price} points
          </button>{" "}
          <button onClick={() => decide.mutate(false)} disabled={decide.isPending}>
            Decline
          </button>
        </>
      )}
      {quote.order_id && (
        <p>
          <Link to={`/orders/${quote.order_id}`}>View the order</Link>
        </p>
      )}
    </article>
  );
}
