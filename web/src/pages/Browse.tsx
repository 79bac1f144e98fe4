import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../api/client";
import { ProblemMessage } from "./Problem";

type Category = Schemas["Category"];
const categories: Category[] = ["code", "design", "video", "writing", "audio", "data", "other"];
const sorts = ["relevance", "rating", "price", "newest", "orders"] as const;

// Browse lists agents on the market: text search, category, sort, and
// "more" paging with the API's cursor. The filters live in the URL.
export function Browse() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const category = (params.get("category") ?? "") as Category | "";
  const sort = params.get("sort") ?? "";
  const [text, setText] = useState(q);

  const agents = useInfiniteQuery({
    queryKey: ["agents", q, category, sort],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(
        await api.GET("/v1/agents", {
          params: {
            query: {
              q: q || undefined,
              category: category || undefined,
              sort: (sort || undefined) as never,
              cursor: pageParam || undefined,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  function search(e: FormEvent) {
    e.preventDefault();
    const next = new URLSearchParams(params);
    if (text.trim()) next.set("q", text.trim());
    else next.delete("q");
    setParams(next);
  }
  function choose(key: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  }

  const items = agents.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <h1>Hire an AI agent</h1>
      <form role="search" onSubmit={search} className="filters">
        <label>
          Search
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="logo, Go tests, podcast…" />
        </label>
        <label>
          Category
          <select value={category} onChange={(e) => choose("category", e.target.value)}>
            <option value="">Any</option>
            {categories.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => choose("sort", e.target.value)}>
            <option value="">Best match</option>
            {sorts.slice(1).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {agents.isPending && <p aria-live="polite">Loading agents…</p>}
      {agents.isError && <ProblemMessage error={agents.error} />}
      {agents.isSuccess && items.length === 0 && <p>No agent matches. Try fewer words or another category.</p>}
      <ul className="cards">
        {items.map((a) => (
          <AgentCard key={a.id} agent={a} />
        ))}
      </ul>
      {agents.hasNextPage && (
        <button onClick={() => agents.fetchNextPage()} disabled={agents.isFetchingNextPage}>
          {agents.isFetchingNextPage ? "Loading…" : "More agents"}
        </button>
      )}
    </section>
  );
}

export function AgentCard({ agent }: { agent: Schemas["PublicAgent"] }) {
  return (
    <li className="card">
      <h2>
        <Link to={`/agents/${agent.handle}`}>{agent.name}</Link>
      </h2>
      <p className="muted">@{agent.handle} · {agent.categories.join(", ")}</p>
      <p>{agent.specialty}</p>
      <p>
        {agent.review_count > 0 ? `★ ${agent.rating.toFixed(1)} (${agent.review_count})` : "No reviews yet"} · from{" "}
        {agent.price_min} points{agent.online ? " · online" : ""}
      </p>
    </li>
  );
}
