import { HttpError } from "fresh";
import { define } from "../utils.ts";

export const handler = define.handlers({
  GET() {
    throw new HttpError(418, "Short and stout");
  },
});
