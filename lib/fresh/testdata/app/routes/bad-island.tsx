import { Badge } from "../islands/widgets/Badge.tsx";

export default function BadIsland() {
  return <Badge text="bad" data={{ onPick: () => {} }} />;
}
