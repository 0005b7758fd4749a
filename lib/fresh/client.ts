/**
 * The browser boot module: hydrates the islands of a server-rendered page. Bundled as an entry
 * point of its own and loaded by the page as an external module script; what to hydrate comes
 * from a JSON data block, so pages carry no inline script and run under a CSP without
 * `'unsafe-inline'`:
 *
 * ```html ignore
 * <script type="application/json" id="__vc_boot">
 *   {"islands": {"Counter": "/_fresh/js/<bundle id>/islands/Counter.js"},
 *    "payload": {"props": [...], "signals": [...]}, "buildId": "<build id>"}
 * </script>
 * <script type="module" src="/_fresh/js/<bundle id>/lib/fresh/client.js"></script>
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

/** The id of the page's boot data block. */
export const BOOT_DATA_ID = "__vc_boot";

/** What the boot data block holds. */
export interface BootData {
  /** Island module URLs by their path below `islands/` without extension. */
  islands: Record<string, string>;
  payload: PropsPayload;
  buildId: string;
}

/** Reads the page's boot data, imports its islands and hydrates them. */
export async function bootFromPage(): Promise<void> {
  const block = document.getElementById(BOOT_DATA_ID);
  if (block === null) return;
  const data = JSON.parse(block.textContent ?? "") as BootData;
  const modules = Object.fromEntries(
    await Promise.all(
      Object.entries(data.islands).map(async ([file, url]) => [file, await import(url)] as const),
    ),
  );
  boot(modules, data.payload, data.buildId);
}

if (typeof document !== "undefined") {
  bootFromPage().catch((error) => console.error("Cannot hydrate the page's islands:", error));
}
