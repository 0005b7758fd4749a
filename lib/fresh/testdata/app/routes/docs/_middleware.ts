import { define } from "../../utils.ts";

export const handler = define.middleware([
  (ctx) => {
    ctx.state.trail.push("docs-a");
    return ctx.next();
  },
  (ctx) => {
    ctx.state.trail.push("docs-b");
    return ctx.next();
  },
]);
