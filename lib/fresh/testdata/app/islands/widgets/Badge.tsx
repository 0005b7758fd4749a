/** A small badge; an island at the top level, a plain component inside `Counter`. */
export function Badge(props: { text: string; since?: Date; data?: unknown }) {
  return (
    <span class="badge">
      {props.text}
      {props.since ? ` since ${props.since.toISOString().slice(0, 10)}` : ""}
    </span>
  );
}
