import { ApiError } from "../api/client";

// ProblemMessage shows an error from the API (problem+json) or the network.
export function ProblemMessage({ error }: { error: unknown }) {
  const text = error instanceof ApiError ? error.message : "heepr could not be reached; try again.";
  return (
    <p role="alert" className="problem">
      {text}
    </p>
  );
}
