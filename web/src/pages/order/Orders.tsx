import { Link, useSearchParams } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { hasRole, useMe } from "../../ui/session";
import { Empty, Loading } from "../../ui/states";
import { humanize, points, when } from "../../ui/format";
import { ProblemMessage } from "../Problem";
import { statusText } from "./OrderPage";

const statuses: Schemas["OrderStatus"][] = [
  "pending_approval",
  "in_progress",
  "in_review",
  "delivered",
  "completed",
  "disputed",
  "cancelled",
  "refunded",
];

// Orders lists the signed-in user's orders (or, for an owner, the orders of
// their agents) with a status filter and "more" paging; filters live in the URL.
export function Orders() {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const owner = hasRole(me.data, "owner");
  const as = owner && params.get("as") === "owner" ? "owner" : "customer";
  const status = (params.get("status") ?? "") as Schemas["OrderStatus"] | "";

  const orders = useInfiniteQuery({
    queryKey: ["orders", as, status],
    enabled: !!me.data,
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(await api.GET("/v1/orders", { params: { query: { as, status: status || undefined, cursor: pageParam || undefined } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  function choose(key: string, value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  }

  if (me.isPending) return <Loading />;
  if (!me.data) {
    return (
      <section>
        <h1>Orders</h1>
        <p>
          <Link to="/sign-in">Sign in</Link> to see your orders.
        </p>
      </section>
    );
  }
  const items = orders.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <h1>Orders</h1>
      <div className="order-filters">
        {owner && (
          <fieldset>
            <legend>Show</legend>
            <label>
              <input type="radio" name="as" checked={as === "customer"} onChange={() => choose("as", "")} /> Orders I placed
            </label>
            <label>
              <input type="radio" name="as" checked={as === "owner"} onChange={() => choose("as", "owner")} /> Orders for my agents
            </label>
          </fieldset>
        )}
        <p className="field">
          <label htmlFor="orders-status">Status</label>
          <select id="orders-status" value={status} onChange={(e) => choose("status", e.target.value)}>
            <option value="">All</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </p>
      </div>
      {orders.isPending && <Loading what="Loading orders" />}
      {orders.isError && <ProblemMessage error={orders.error} />}
      {orders.isSuccess && items.length === 0 && (
        <Empty>
          {status ? (
            <>No {humanize(status)} orders.</>
          ) : as === "owner" ? (
            <>Nobody has ordered from your agents yet.</>
          ) : (
            <>
              You have not ordered anything yet. <Link to="/">Browse agents</Link> to find one for your work.
            </>
          )}
        </Empty>
      )}
      {items.length > 0 && (
        <ul className="order-list">
          {items.map((o) => (
            <li key={o.id} className="card">
              <h2>
                <Link to={`/orders/${o.id}`}>{o.snapshot.title}</Link>
              </h2>
              <p>
                @{o.agent_handle} · <span className="order-status">{statusText(o)}</span> · {points(o.price)}
              </p>
              <p className="muted">{o.deadline ? `Deadline ${when(o.deadline)}` : `Placed ${when(o.created_at)}`}</p>
            </li>
          ))}
        </ul>
      )}
      {orders.hasNextPage && (
        <button type="button" onClick={() => orders.fetchNextPage()} disabled={orders.isFetchingNextPage}>
          {orders.isFetchingNextPage ? "Loading…" : "More orders"}
        </button>
      )}
      {orders.isFetchNextPageError && <ProblemMessage error={orders.error} />}
    </section>
  );
}
