import type { ComponentChildren, JSX } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";

/** Rows rendered above and below the visible ones, so a quick scroll shows no gap. */
const OVERSCAN = 8;

/**
 * A long list that renders only the rows in sight (and a few around them): a list of 1,000
 * people costs the page as much as a list of 30. Rows have a fixed height; the list takes the
 * height of all of them, so the scroll bar is true. It follows the scrolling of its nearest
 * scrolling ancestor.
 */
export function VirtualRows<T>(
  props: {
    items: readonly T[];
    rowHeight: number;
    keyOf: (item: T) => string;
    row: (item: T) => ComponentChildren;
    testId?: string;
  },
): JSX.Element {
  const list = useRef<HTMLUListElement>(null);
  const [range, setRange] = useState({ first: 0, count: 40 });
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    let scroller: HTMLElement | null = el.parentElement;
    while (scroller && !/(auto|scroll)/.test(getComputedStyle(scroller).overflowY)) {
      scroller = scroller.parentElement;
    }
    const target = scroller ?? document.documentElement;
    const update = () => {
      const top = target.scrollTop - (el.offsetTop - (scroller ? scroller.offsetTop : 0));
      const first = Math.max(0, Math.floor(top / props.rowHeight) - OVERSCAN);
      const count = Math.ceil(target.clientHeight / props.rowHeight) + 2 * OVERSCAN;
      setRange((w) => (w.first === first && w.count === count ? w : { first, count }));
    };
    update();
    const resize = new ResizeObserver(update);
    resize.observe(target);
    (scroller ?? globalThis).addEventListener("scroll", update, { passive: true });
    return () => {
      resize.disconnect();
      (scroller ?? globalThis).removeEventListener("scroll", update);
    };
  }, [props.rowHeight]);
  const shown = props.items.slice(range.first, range.first + range.count);
  return (
    <ul
      ref={list}
      class="list virtual"
      data-testid={props.testId}
      data-rows={props.items.length}
      style={{ height: `${props.items.length * props.rowHeight}px` }}
    >
      {shown.map((item, i) => (
        <li
          key={props.keyOf(item)}
          style={{
            top: `${(range.first + i) * props.rowHeight}px`,
            height: `${props.rowHeight}px`,
          }}
        >
          {props.row(item)}
        </li>
      ))}
    </ul>
  );
}
