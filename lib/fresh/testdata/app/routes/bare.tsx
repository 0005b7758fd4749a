import type { RouteConfig } from "fresh";

export const config: RouteConfig = { skipAppWrapper: true, skipInheritedLayouts: true };

export default function Bare() {
  return (
    <html>
      <body class="bare">bare</body>
    </html>
  );
}
