import { define } from "../utils.ts";

export const handler = define.handlers({
  GET(ctx) {
    return ctx.render(<p id="rendered">from ctx.render</p>, { headers: { "x-render": "yes" } });
  },
});
