import type { Signal } from "@preact/signals";
import { useState } from "preact/hooks";
import { Badge } from "./widgets/Badge.tsx";

/** A counter that also renames the label it shares with other counters. */
export default function Counter(props: { start: number; label: Signal<string> }) {
  const [count, setCount] = useState(props.start);
  return (
    <div class="counter">
      <span class="label">{props.label}</span>
      <output>{count}</output>
      <button type="button" class="increment" onClick={() => setCount(count + 1)}>+1</button>
      <button type="button" class="rename" onClick={() => props.label.value = "renamed"}>
        rename
      </button>
      <Badge text="nested" />
    </div>
  );
}
