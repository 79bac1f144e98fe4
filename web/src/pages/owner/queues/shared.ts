// Helpers shared by the owner's queue pages and the order page's owner actions.
import { useRef } from "react";
import type { QueryClient } from "@tanstack/react-query";

// useIdempotencyKey gives one key per intended effect: the same key while the
// request body stays the same (so a retry replays the first answer), a new
// one once the user changes what they are asking for.
export function useIdempotencyKey() {
  const last = useRef<{ body: string; key: string } | null>(null);
  return (body: unknown = null): string => {
    const text = JSON.stringify(body);
    if (!last.current || last.current.body !== text) last.current = { body: text, key: crypto.randomUUID() };
    return last.current.key;
  };
}

// refreshOrders marks every order, conversation and wallet query stale after
// an owner action, whatever key the page showing it uses; file previews and
// the session are left alone.
export function refreshOrders(queries: QueryClient) {
  return queries.invalidateQueries({ predicate: (q) => !["me", "file-preview"].includes(String(q.queryKey[0])) });
}

// reasonParts splits an awaiting_approval_because entry ("price: 900 points is
// outside the band 0-500") into its band and its explanation.
export function reasonParts(reason: string): { band: string; text: string } {
  const i = reason.indexOf(": ");
  if (i <= 0) return { band: "", text: reason };
  return { band: reason.slice(0, i).replaceAll("_", " "), text: reason.slice(i + 2) };
}

// bytes shows a file size in B, KB or MB.
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
