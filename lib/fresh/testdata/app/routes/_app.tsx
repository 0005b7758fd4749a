import { define } from "../utils.ts";

export default define.page(function App({ Component }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Fixture</title>
      </head>
      <body class="app">
        <Component />
      </body>
    </html>
  );
});
