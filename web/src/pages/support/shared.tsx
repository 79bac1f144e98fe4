// Pieces shared by the support console's pages: the role gate with the
// console's sub-navigation, a scrollable table wrapper, "more" paging, URL
// filters, idempotency keys per intent, and ages of cases.
import { useRef, type ReactNode } from "react";
import { NavLink, useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { RequireRole } from "../../ui/session";

// SupportPage gates a page to support staff and puts the console's
// sub-navigation above it.
export function SupportPage({ children }: { children: ReactNode }) {
  return (
    <RequireRole role="support">
      <SupportNav />
      <section className="sup-page">{children}</section>
    </RequireRole>
  );
}

const links = [
  { to: "/support", label: "Cases", end: true },
  { to: "/support/suspensions", label: "Suspensions", end: false },
  { to: "/support/audit", label: "Audit log", end: false },
  { to: "/support/jobs", label: "Failed jobs", end: false },
];

// SupportNav links the support console's pages; the current one is marked
// with aria-current (and bold, underlined text, not colour alone).
export function SupportNav() {
  return (
    <nav aria-label="Support console" className="sup-nav">
      <ul>
        {links.map((l) => (
          <li key={l.to}>
            <NavLink to={l.to} end={l.end}>
              {l.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

// Scroll wraps a wide table so it scrolls sideways on a phone; it can be
// focused so keyboard users can scroll it too.
export function Scroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="sup-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

// More loads the next page of a cursor-paged list.
export function More({ show, busy, onMore, label }: { show: boolean; busy: boolean; onMore: () => void; label: string }) {
  if (!show) return null;
  return (
    <button type="button" onClick={onMore} disabled={busy}>
      {busy ? "Loading…" : label}
    </button>
  );
}

// useFilters reads filters from the URL and writes them back (an empty value
// removes the parameter), so a filtered view is a link.
export function useFilters() {
  const [params, setParams] = useSearchParams();
  function set(values: Record<string, string>) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(values)) {
      if (v.trim()) next.set(k, v.trim());
      else next.delete(k);
    }
    setParams(next);
  }
  return { get: (k: string) => params.get(k) ?? "", set };
}

// useIdempotencyKey returns one key per intended request: the same body gets
// the same key (a retry), a changed body a new one, since the API answers a
// reused key with a different body with idempotency-key-reused.
export function useIdempotencyKey() {
  const last = useRef<{ body: string; key: string } | null>(null);
  return (body: unknown): string => {
    const text = JSON.stringify(body);
    if (last.current?.body !== text) last.current = { body: text, key: crypto.randomUUID() };
    return last.current.key;
  };
}

// pinTo moves a "not found" problem (about a path parameter) onto the form
// field the id was typed in, so it shows beside that field.
export function pinTo(field: string, e: unknown): unknown {
  if (e instanceof ApiError && e.problem.status === 404 && !e.problem.errors?.length) {
    return new ApiError({ ...e.problem, errors: [{ field, detail: e.message }] });
  }
  return e;
}

// age says how long ago a time was, roughly: "45 min", "5 h", "3 d 4 h".
export function age(iso: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// looksLikeId tells an id (a UUID) from a handle.
export function looksLikeId(s: string): boolean {
  return uuid.test(s);
}
