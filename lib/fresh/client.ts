/**
 * The browser boot module: hydrates the islands of a server-rendered page. Bundled as an entry
 * point of its own and called by the page's inline module script:
 *
 * ```js ignore
 * import { boot } from "/_fresh/js/<bundle id>/lib/fresh/client.js";
 * import * as m0 from "/_fresh/js/<bundle id>/islands/Counter.js";
 * boot({ "Counter": m0 }, { props: [...], signals: [...] }, "<build id>");
 * ```
 *
 * @module
 */
import { type ComponentType, h, hydrate } from "preact";
import { setBuildId } from "./runtime.ts";
import { type PropsPayload, reviveProps } from "./serialize.ts";

/**
 * Hydrates every `<vc-island>` marker of the document with its component and revived props.
 *
 * @param modules The island modules by their path below `islands/` without extension.
 * @param payload The serialized props of the page's islands.
 * @param buildId The build id for `asset()`.
 */
export function boot(
  modules: Record<string, Record<string, unknown>>,
  payload: PropsPayload,
  buildId: string,
): void {
  setBuildId(buildId);
  const props = reviveProps(payload);
  for (const marker of document.querySelectorAll<HTMLElement>("vc-island[data-island]")) {
    const id = marker.dataset.island ?? "";
    const hash = id.lastIndexOf("#");
    const component = modules[id.slice(0, hash)]?.[id.slice(hash + 1)];
    const index = Number(marker.dataset.props);
    if (typeof component !== "function" || props[index] === undefined) {
      console.error(`Cannot hydrate island "${id}": its module or props are missing`);
      continue;
    }
    hydrate(h(component as ComponentType<Record<string, unknown>>, props[index]), marker);
  }
}
