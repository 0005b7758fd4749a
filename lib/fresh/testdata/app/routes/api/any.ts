import { define } from "../../utils.ts";

export const handler = define.handlers((ctx) => new Response(`method ${ctx.req.method}`));
