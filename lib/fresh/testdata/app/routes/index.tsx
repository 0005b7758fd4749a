import { asset, Head } from "fresh/runtime";

export default function Home() {
  return (
    <>
      <Head>
        <meta name="description" content="The fixture home page" />
        <link rel="stylesheet" href={asset("/styles.css")} />
      </Head>
      <h1>Home</h1>
    </>
  );
}
