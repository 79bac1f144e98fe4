// One Idempotency-Key per user intent: a retry of the same request (after a
// network failure or a 5xx) reuses it; a changed request, or one the API has
// answered for good, gets a new one.
import { useRef } from "react";
import { ApiError } from "../../api/client";
import { problemCode } from "./rules";

// answered tells whether the API has settled a request: success, or a
// refusal it stores and would replay for the same key.
function answered(error: unknown): boolean {
  if (!error) return true;
  if (!(error instanceof ApiError)) return false;
  const { status, type } = error.problem;
  return status > 0 && status < 500 && problemCode(type) !== "idempotency-in-progress";
}

export function useIdempotencyKey() {
  const intent = useRef<{ key: string; body: string } | null>(null);
  return {
    // keyFor returns the key for a request with this body.
    keyFor(body: unknown = null): string {
      const text = JSON.stringify(body);
      if (!intent.current || intent.current.body !== text) intent.current = { key: crypto.randomUUID(), body: text };
      return intent.current.key;
    },
    // settle ends the intent once the API has answered it for good.
    settle(error?: unknown) {
      if (answered(error)) intent.current = null;
    },
  };
}
