// Form building blocks shared by every page: a labelled field with the API's
// message for it, a submit runner that keeps the problem, and the message of a
// problem that concerns no single field.
import { useState, type ReactNode } from "react";
import { ApiError } from "../api/client";

// asApiError turns anything thrown by a call into an ApiError to display.
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError({ type: "about:blank", title: "heepr could not be reached; try again.", status: 0 });
}

type FieldProps = {
  label: string;
  name: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  type?: string;
  autoComplete?: string;
  required?: boolean;
  hint?: ReactNode;
  multiline?: boolean;
  rows?: number;
  min?: number;
  max?: number;
};

// Field is a labelled input (or textarea) with its hint and the API's message
// for it; the message is tied to the input with aria-describedby.
export function Field(props: FieldProps) {
  const id = `f-${props.name}`;
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: props.name,
    value: props.value,
    "aria-invalid": props.error ? true : undefined,
    "aria-describedby": described,
    required: props.required ?? true,
  };
  return (
    <p className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.hint && (
        <span id={`${id}-hint`} className="muted hint">
          {props.hint}
        </span>
      )}
      {props.multiline ? (
        <textarea {...common} rows={props.rows ?? 4} onChange={(e) => props.onChange(e.target.value)} />
      ) : (
        <input
          {...common}
          type={props.type ?? "text"}
          autoComplete={props.autoComplete}
          min={props.min}
          max={props.max}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
      {props.error && (
        <span id={`${id}-error`} className="problem">
          {props.error}
        </span>
      )}
    </p>
  );
}

// useSubmit runs a form's API call and keeps its error for display.
export function useSubmit() {
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(fn: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run, setError };
}

// FormMessage shows a problem that is not about one of the form's fields
// (those are shown beside their field); put it just above the submit button.
export function FormMessage({ error, fields }: { error: ApiError | null | undefined; fields: string[] }) {
  if (!error) return null;
  if (error.problem.errors?.length && error.problem.errors.every((e) => fields.includes(e.field))) return null;
  return (
    <p role="alert" className="problem">
      {error.message}
    </p>
  );
}
