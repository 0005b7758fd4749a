import { signal } from "@preact/signals";
import Counter from "../islands/Counter.tsx";
import { Badge } from "../islands/widgets/Badge.tsx";

export default function IslandsPage() {
  const label = signal("clicks");
  return (
    <main>
      <Counter start={3} label={label} />
      <Counter start={10} label={label} />
      <Badge text="</script><!-- tricky" since={new Date(Date.UTC(2024, 0, 2))} />
    </main>
  );
}
