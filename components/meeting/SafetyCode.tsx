import type { JSX } from "preact";

/** The safety code, with what to do with it. */
export function SafetyCode(props: { code: string | undefined }): JSX.Element {
  return (
    <>
      <h3>Safety code</h3>
      <p class="safety" data-testid="safety-code">{props.code ?? "…"}</p>
      <p class="muted small">
        Read it out to the others (or compare it on screen). If everyone sees the same code, nobody
        — not even the server's operator — sits between you. It changes when someone joins or
        leaves.
      </p>
    </>
  );
}
