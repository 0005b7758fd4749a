import { define } from "../../utils.ts";

export default define.page(function Files({ params }) {
  return <p class="files">files:{params.path}</p>;
});
