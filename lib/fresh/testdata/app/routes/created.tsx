import { page } from "fresh";
import { define } from "../utils.ts";

export const handler = define.handlers({
  POST() {
    return page({ id: 7 }, { status: 201, headers: { "x-created": "7" } });
  },
});

export default define.page<typeof handler>(function Created({ data }) {
  return <p class="created">created {data.id}</p>;
});
