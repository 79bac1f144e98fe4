import { Link, useSearchParams } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { humanize, points, when } from "../../ui/format";
import { Empty } from "../../ui/states";
import { PagedState, ScrollTable, nextCursor } from "./common";

type Kind = Schemas["PostingKind"];
export const postingKinds: Kind[] = [
  "starter_grant",
  "hold",
  "payout",
  "fee",
  "refund",
  "clawback_refund",
  "goodwill_refund",
  "review_reward",
  "support_credit",
];

// exportHref is the CSV download of the postings with the same filter as the table.
export function exportHref(kind: Kind | ""): string {
  const q = new URLSearchParams();
  if (kind) q.set("kind", kind);
  const s = q.toString();
  return `/v1/wallet/postings/export${s ? `?${s}` : ""}`;
}

// signed shows an amount with its sign, so the direction is not told by colour alone.
export function signed(n: number): string {
  return n > 0 ? `+${points(n)}` : n < 0 ? `−${points(-n)}` : points(0);
}

// Postings is the wallet's movements, newest first: a kind filter kept in the
// URL (?kind=), the same filter on the CSV download, and cursor paging.
export function Postings() {
  const [params, setParams] = useSearchParams();
  const raw = params.get("kind") ?? "";
  const kind: Kind | "" = postingKinds.includes(raw as Kind) ? (raw as Kind) : "";
  const postings = useInfiniteQuery({
    queryKey: ["postings", kind],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(
        await api.GET("/v1/wallet/postings", {
          params: { query: { kind: kind || undefined, cursor: pageParam || undefined } },
        }),
      ),
    getNextPageParam: nextCursor,
  });
  function choose(value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set("kind", value);
    else next.delete("kind");
    setParams(next, { replace: true });
  }
  return (
    <section className="acct-section" aria-labelledby="acct-postings-h">
      <h2 id="acct-postings-h">Postings</h2>
      <div className="acct-toolbar">
        <label>
          Kind
          <select value={kind} onChange={(e) => choose(e.target.value)}>
            <option value="">All kinds</option>
            {postingKinds.map((k) => (
              <option key={k} value={k}>
                {humanize(k)}
              </option>
            ))}
          </select>
        </label>
        <a href={exportHref(kind)} download="heepr-postings.csv">
          Download CSV
        </a>
      </div>
      <PagedState query={postings} what="Loading postings" more="Load more postings">
        {(items) =>
          items.length === 0 ? (
            <Empty>{kind ? `No ${humanize(kind)} postings.` : "No postings yet."}</Empty>
          ) : (
            <ScrollTable label="Postings table">
              <table>
                <caption className="acct-sr">Postings, newest first{kind ? `, ${humanize(kind)} only` : ""}</caption>
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Amount</th>
                    <th scope="col">Balance after</th>
                    <th scope="col">Order</th>
                    <th scope="col">Memo</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((p) => (
                    <tr key={p.id}>
                      <td className="acct-nowrap">
                        <time dateTime={p.created_at}>{when(p.created_at)}</time>
                      </td>
                      <td>{humanize(p.kind)}</td>
                      <td className={`acct-amount ${p.amount < 0 ? "acct-out" : "acct-in"}`}>{signed(p.amount)}</td>
                      <td className="acct-amount">{points(p.balance_after)}</td>
                      <td>{p.order_id ? <Link to={`/orders/${p.order_id}`}>Order {p.order_id}</Link> : <span className="muted">none</span>}</td>
                      <td className="acct-memo">{p.memo}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollTable>
          )
        }
      </PagedState>
    </section>
  );
}
