/**
 * Server side of islands: discovering them in `islands/`, and marking where they render.
 *
 * Every function exported by a module below `islands/` is an island. Route files import
 * islands normally, so the server holds the very same function objects: a preact
 * `options.vnode` hook (installed once, chained with the hooks before it) swaps each island
 * element for an {@linkcode IslandBoundary}. During a page render ({@linkcode renderInScope})
 * the boundary server-renders the island inside
 * `<vc-island data-island="<id>" data-props="<n>" style="display:contents">` and records its
 * props for the browser; islands nested inside an island render as plain components, hydrated
 * with their outer island. Outside a render scope the boundary renders the plain component.
 *
 * Islands start a new tree in the browser, so context from server components above them does
 * not reach them; pass what they need as props. Props must be serializable (see
 * `serialize.ts`): JSX `children` are refused, so compose islands inside islands instead.
 *
 * @module
 */
import { type ComponentChildren, type ComponentType, h, options } from "preact";
import { IGNORED_MODULE, MODULE_FILE, toFileUrl, walkFiles } from "./_fs.ts";
import { PropsSerializer } from "./serialize.ts";

/** One island component. */
export interface Island {
  /** Marker id: `<file>#<export>`, e.g. `"Counter#default"`. */
  id: string;
  /** The module's path below `islands/` without extension, e.g. `"chat/Panel"`. */
  file: string;
  /** The export's name (`"default"` for the default export). */
  exportName: string;
  /** A readable name for messages, e.g. `"Counter (islands/Counter.tsx)"`. */
  name: string;
  component: ComponentType<Record<string, unknown>>;
}

/** An island module, one bundle entry point. */
export interface IslandModule {
  /** The path below `islands/` without extension. */
  file: string;
  /** The absolute file path. */
  path: string;
}

/** What one page render found: the islands' modules and their serialized props. */
export interface IslandScope {
  serializer: PropsSerializer;
  /** Island modules (`Island.file`) used by the page. */
  used: Set<string>;
  /** How many active boundaries enclose the element being rendered. */
  depth: number;
  /** Props objects of active boundaries, to close them in `options.diffed`. */
  open: Set<object>;
}

interface BoundaryProps {
  island: Island;
  props: Record<string, unknown>;
}

const registry = new WeakMap<object, Island>();
let current: IslandScope | null = null;
let bypass = false;

/** The island modules below `islandsDir`, without importing them (none if it is missing). */
export async function findIslandModules(islandsDir: string): Promise<IslandModule[]> {
  return (await walkFiles(islandsDir))
    .filter((relative) => MODULE_FILE.test(relative) && !IGNORED_MODULE.test(relative))
    .map((relative) => ({
      file: relative.replace(MODULE_FILE, ""),
      path: `${islandsDir}/${relative}`,
    }));
}

/**
 * Imports every module below `islandsDir` and registers its exported functions as islands.
 * A missing directory has no islands.
 */
export async function loadIslands(islandsDir: string): Promise<IslandModule[]> {
  const modules = await findIslandModules(islandsDir);
  for (const { file, path } of modules) {
    const mod: Record<string, unknown> = await import(toFileUrl(path));
    for (const [exportName, value] of Object.entries(mod)) {
      if (typeof value !== "function") continue;
      const label = exportName === "default" ? value.name || file : exportName;
      registry.set(value, {
        id: `${file}#${exportName}`,
        file,
        exportName,
        name: `${label} (${path.slice(path.lastIndexOf("/islands/") + 1)})`,
        component: value as ComponentType<Record<string, unknown>>,
      });
    }
  }
  return modules;
}

/** A fresh scope for one page render. */
export function createIslandScope(): IslandScope {
  return { serializer: new PropsSerializer(), used: new Set(), depth: 0, open: new Set() };
}

/** Runs `render` (synchronous) with `scope` recording the islands it renders. */
export function renderInScope<T>(scope: IslandScope, render: () => T): T {
  const previous = current;
  current = scope;
  try {
    return render();
  } finally {
    current = previous;
  }
}

function plain(island: Island, props: Record<string, unknown>): ComponentChildren {
  bypass = true;
  try {
    return h(island.component, props);
  } finally {
    bypass = false;
  }
}

/** Renders an island: marked and recorded at the top level of a scope, plain otherwise. */
export function IslandBoundary(boundary: BoundaryProps): ComponentChildren {
  const { island, props } = boundary;
  const scope = current;
  if (scope === null || scope.depth > 0) return plain(island, props);
  const index = scope.serializer.add(island.name, props);
  scope.used.add(island.file);
  scope.depth++;
  scope.open.add(boundary);
  return h("vc-island", {
    "data-island": island.id,
    "data-props": String(index),
    style: "display:contents",
  }, plain(island, props));
}

const previousVnode = options.vnode;
options.vnode = (vnode) => {
  const island = bypass ? undefined : registry.get(vnode.type as object);
  if (island !== undefined) {
    const boundary: BoundaryProps = { island, props: vnode.props as Record<string, unknown> };
    const target = vnode as unknown as { type: unknown; props: unknown };
    target.type = IslandBoundary;
    target.props = boundary;
  }
  previousVnode?.(vnode);
};

const previousDiffed = options.diffed;
options.diffed = (vnode) => {
  if (vnode.type === IslandBoundary && current?.open.delete(vnode.props)) current.depth--;
  previousDiffed?.(vnode);
};
