import { withTempDir } from "../../tests/support/temp_dir.ts";
import {
  assert,
  assertEquals,
  assertFalse,
  assertGreater,
  assertNotEquals,
  assertRejects,
} from "../../tests/support/assert.ts";
import {
  certificateHash,
  checkPrivateKeyPem,
  ecdsaSignatureToDer,
  generateCertificate,
  MAX_CERTIFICATE_VALIDITY_MS,
  MAX_PEM_CHARS,
  parseCertificateValidity,
  privateKeyMatchesCertificate,
} from "./certificate.ts";
import { decodeChildren, decodeElement, encodeSequence, encodeTime } from "./der.ts";

const DAY_MS = 86_400_000;
const decoder = new TextDecoder();

async function openssl(args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command("/usr/bin/openssl", { args }).output();
  return { code, out: decoder.decode(stdout) + decoder.decode(stderr) };
}

function toPem(label: string, der: Uint8Array): string {
  const base64 = (der.toBase64().match(/.{1,64}/g) ?? []).join("\n");
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}

Deno.test("generateCertificate() makes an ECDSA P-256 certificate openssl reads, with the SANs and extensions", async () => {
  const cert = await generateCertificate({
    hostnames: ["localhost", "relay.example.test", "*.rooms.example.test", "127.0.0.1", "::1"],
  });
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
    const { code, out } = await openssl(["x509", "-in", `${dir}/cert.pem`, "-noout", "-text"]);
    assertEquals(code, 0, out);
    for (
      const expected of [
        "Version: 3 (0x2)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "ASN1 OID: prime256v1",
        "Issuer: CN = videocall.ts",
        "Subject: CN = videocall.ts",
        "DNS:localhost, DNS:relay.example.test, DNS:*.rooms.example.test, " +
        "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        "X509v3 Basic Constraints: critical\n                CA:FALSE",
        "X509v3 Key Usage: critical\n                Digital Signature\n",
        "X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n",
      ]
    ) {
      assert(out.includes(expected), `missing "${expected}" in:\n${out}`);
    }
    const dates = await openssl(["x509", "-in", `${dir}/cert.pem`, "-noout", "-dates"]);
    const notBefore = new Date(dates.out.match(/notBefore=(.*)/)![1]);
    const notAfter = new Date(dates.out.match(/notAfter=(.*)/)![1]);
    assertEquals(notBefore.getTime(), cert.notBefore.getTime());
    assertEquals(notAfter.getTime(), cert.notAfter.getTime());
    assertEquals(notAfter.getTime() - notBefore.getTime(), 13 * DAY_MS);
    assert(notAfter.getTime() - notBefore.getTime() <= 14 * DAY_MS);
    // DER, not BER: openssl re-encodes the certificate to the same bytes.
    const reencoded = await openssl([
      "x509",
      "-in",
      `${dir}/cert.pem`,
      "-outform",
      "DER",
      "-out",
      `${dir}/re.der`,
    ]);
    assertEquals(reencoded.code, 0, reencoded.out);
    assertEquals(await Deno.readFile(`${dir}/re.der`), cert.der);
  });
});

Deno.test("generateCertificate() signs with its own key: openssl verifies the signature and rejects a tampered one", async () => {
  const cert = await generateCertificate();
  await withTempDir(async (dir) => {
    // Verify the signature over the TBSCertificate bytes directly with the certificate's key.
    const [tbs, , signature] = decodeChildren(decodeElement(cert.der));
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
    await Deno.writeFile(`${dir}/tbs.der`, tbs.bytes);
    await Deno.writeFile(`${dir}/sig.der`, signature.content.subarray(1)); // skip unused-bits byte
    const pub = await openssl([
      "x509",
      "-in",
      `${dir}/cert.pem`,
      "-noout",
      "-pubkey",
      "-out",
      `${dir}/pub.pem`,
    ]);
    assertEquals(pub.code, 0, pub.out);
    const dgst = ["dgst", "-sha256", "-verify", `${dir}/pub.pem`, "-signature", `${dir}/sig.der`];
    const good = await openssl([...dgst, `${dir}/tbs.der`]);
    assertEquals(good.code, 0, good.out);
    assert(good.out.includes("Verified OK"), good.out);
    const verify = await openssl([
      "verify",
      "-check_ss_sig",
      "-CAfile",
      `${dir}/cert.pem`,
      `${dir}/cert.pem`,
    ]);
    assertEquals(verify.code, 0, verify.out);

    // The same checks fail once one byte of the signed data changes.
    const tampered = tbs.bytes.slice();
    tampered[tampered.length - 1] ^= 1;
    await Deno.writeFile(`${dir}/tbs.der`, tampered);
    const bad = await openssl([...dgst, `${dir}/tbs.der`]);
    assertGreater(bad.code, 0, "tampered TBSCertificate verified");
    const badDer = cert.der.slice();
    badDer[tbs.end - 1] ^= 1;
    await Deno.writeTextFile(`${dir}/bad.pem`, toPem("CERTIFICATE", badDer));
    const badVerify = await openssl([
      "verify",
      "-check_ss_sig",
      "-CAfile",
      `${dir}/bad.pem`,
      `${dir}/bad.pem`,
    ]);
    assertGreater(badVerify.code, 0, "tampered certificate verified");
  });
});

Deno.test("generateCertificate() output serves QUIC: a client trusting the certificate completes the handshake", async () => {
  const cert = await generateCertificate();
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({ cert: cert.certPem, key: cert.keyPem, alpnProtocols: ["h3"] });
  const serving = (async () => {
    for await (const incoming of listener) {
      try {
        (await incoming.accept()).close();
      } catch {
        // The client refused our certificate; that case is asserted below.
      }
    }
  })();
  try {
    const connect = async (serverName: string) =>
      await Deno.connectQuic({
        hostname: "127.0.0.1",
        port: endpoint.addr.port,
        alpnProtocols: ["h3"],
        caCerts: [cert.certPem],
        serverName,
      });
    for (const serverName of ["localhost", "127.0.0.1", "::1"]) {
      const conn = await connect(serverName);
      await conn.handshake;
      assertEquals(conn.protocol, "h3");
      conn.close();
    }
    const error = await assertRejects(() => connect("other.example.test"));
    assert(String(error).includes("not valid for name"), String(error));
  } finally {
    listener.stop();
    endpoint.close();
    await serving;
  }
});

Deno.test("generateCertificate() sets notBefore an hour before now and notAfter the validity later", async () => {
  const now = Date.UTC(2030, 5, 15, 12, 0, 0, 789);
  const cert = await generateCertificate({ now, validityMs: 3 * DAY_MS });
  assertEquals(cert.notBefore.toISOString(), "2030-06-15T11:00:00.000Z");
  assertEquals(cert.notAfter.toISOString(), "2030-06-18T11:00:00.000Z");
  const parsed = parseCertificateValidity(cert.certPem);
  assert(parsed.ok);
  assertEquals([parsed.notBefore, parsed.notAfter], [cert.notBefore, cert.notAfter]);
  assertEquals(await certificateHash(cert.der), cert.sha256);
  assertEquals(atob(cert.sha256Base64).length, 32);

  // Exactly 14 days is allowed; a fraction of a second is rounded down, never up.
  const longest = await generateCertificate({ validityMs: MAX_CERTIFICATE_VALIDITY_MS - 1 });
  assert(longest.notAfter.getTime() - longest.notBefore.getTime() < MAX_CERTIFICATE_VALIDITY_MS);
  const max = await generateCertificate({ validityMs: MAX_CERTIFICATE_VALIDITY_MS });
  assertEquals(max.notAfter.getTime() - max.notBefore.getTime(), MAX_CERTIFICATE_VALIDITY_MS);

  // After 2049 the times are GeneralizedTime; the parser and openssl both read them.
  const late = await generateCertificate({ now: Date.UTC(2049, 11, 31), validityMs: 2 * DAY_MS });
  const lateParsed = parseCertificateValidity(late.certPem);
  assert(lateParsed.ok);
  assertEquals(lateParsed.notAfter.toISOString(), "2050-01-01T23:00:00.000Z");
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/cert.pem`, late.certPem);
    const { out } = await openssl(["x509", "-in", `${dir}/cert.pem`, "-noout", "-enddate"]);
    assertEquals(out.trim(), "notAfter=Jan  1 23:00:00 2050 GMT");
  });
});

Deno.test("generateCertificate() refuses a validity over 14 days, zero, negative or not a number", async () => {
  for (const validityMs of [MAX_CERTIFICATE_VALIDITY_MS + 1, 15 * DAY_MS, 0, -1, NaN, Infinity]) {
    const error = await assertRejects(() => generateCertificate({ validityMs }), `${validityMs}`);
    assert(/^Certificate validity must be/.test(error.message), error.message);
  }
  const error = await assertRejects(() => generateCertificate({ validityMs: 1000 }));
  assert(error.message.startsWith("Certificate backdate must be"), error.message);
});

Deno.test("generateCertificate() refuses hostnames that are neither DNS names nor IP addresses", async () => {
  for (
    const hostname of [
      "",
      "bad host",
      "a..b",
      "-x.test",
      "x_y.test",
      "1.2.3.999:80",
      "fe80::1%eth0",
      "::1::2",
    ]
  ) {
    const error = await assertRejects(
      () => generateCertificate({ hostnames: [hostname] }),
      hostname,
    );
    assert(error.message.startsWith("Invalid certificate hostname"), error.message);
  }
  const error = await assertRejects(() => generateCertificate({ hostnames: [] }));
  assertEquals(error.message, "Certificate needs at least one hostname");
});

Deno.test("generateCertificate() encodes IPv4 addresses as 4 bytes and IPv6 addresses as 16 bytes", async () => {
  const cert = await generateCertificate({
    hostnames: ["10.1.2.3", "2001:db8::8:1", "::ffff:192.0.2.1", "[fe80::1]", "1:2:3:4:5:6:7:8"],
  });
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
    const { out } = await openssl([
      "x509",
      "-in",
      `${dir}/cert.pem`,
      "-noout",
      "-ext",
      "subjectAltName",
    ]);
    assert(
      out.includes(
        "IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:8:1, IP Address:0:0:0:0:0:FFFF:C000:201, " +
          "IP Address:FE80:0:0:0:0:0:0:1, IP Address:1:2:3:4:5:6:7:8",
      ),
      out,
    );
  });
});

Deno.test("ecdsaSignatureToDer() keeps r and s positive and minimal whatever their leading bytes", () => {
  const raw = new Uint8Array(64);
  raw.fill(0xff, 0, 32); // r: top bit set, needs a 0x00 sign byte
  raw.fill(0x01, 34, 64); // s: two leading zero bytes, dropped
  const [r, s] = decodeChildren(decodeElement(ecdsaSignatureToDer(raw)));
  assertEquals(r.content.length, 33);
  assertEquals([r.content[0], r.content[1]], [0, 0xff]);
  assertEquals(s.content.length, 30);
  assertEquals(s.content[0], 1);
  const zero = decodeChildren(decodeElement(ecdsaSignatureToDer(new Uint8Array(64))));
  assertEquals(zero.map((i) => [...i.content]), [[0], [0]]);
  let error: unknown;
  try {
    ecdsaSignatureToDer(new Uint8Array(72));
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error && error.message.includes("72 bytes"));
});

Deno.test("parseCertificateValidity() returns an error for garbage, truncated and hostile input", async () => {
  const cert = await generateCertificate();
  const block = (der: Uint8Array) => toPem("CERTIFICATE", der);
  const hostile: string[] = [
    "",
    "garbage",
    cert.keyPem,
    "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----",
    "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", // header only
    cert.certPem.replace("-----END CERTIFICATE-----", ""),
    "-----BEGIN CERTIFICATE-----\n" + "A".repeat(MAX_PEM_CHARS) + "\n-----END CERTIFICATE-----",
    block(crypto.getRandomValues(new Uint8Array(512))),
    block(Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff)), // claims 4 GiB
    block(Uint8Array.of(0x30, 0x80, 0, 0)), // BER indefinite length
    block(new Uint8Array([...cert.der, 0])), // trailing byte
    block(encodeSequence()), // empty SEQUENCE
    // A certificate whose notAfter precedes its notBefore.
    block(encodeSequence(
      encodeSequence(
        Uint8Array.of(2, 1, 1),
        encodeSequence(),
        encodeSequence(),
        encodeSequence(encodeTime(new Date(2000, 1, 2)), encodeTime(new Date(2000, 1, 1))),
      ),
      encodeSequence(),
      Uint8Array.of(3, 1, 0),
    )),
  ];
  // Every proper prefix of the certificate.
  for (let n = 0; n < cert.der.length; n += 7) hostile.push(block(cert.der.subarray(0, n)));
  for (const input of hostile) {
    const result = parseCertificateValidity(input);
    assertFalse(result.ok, `accepted ${input.slice(0, 80)}`);
    assert(result.error.length > 0 && /^[A-Z]/.test(result.error), result.error);
  }
  assertFalse(parseCertificateValidity(42 as unknown as string).ok);

  // Random byte flips: never a throw, whatever the outcome.
  for (let i = 0; i < 2000; i++) {
    const der = cert.der.slice();
    der[i % der.length] = crypto.getRandomValues(new Uint8Array(1))[0];
    const result = parseCertificateValidity(block(der));
    assert(typeof result.ok === "boolean");
  }
});

Deno.test("parseCertificateValidity() reads the first certificate of a chain", async () => {
  const leaf = await generateCertificate({ now: Date.UTC(2031, 0, 1), validityMs: DAY_MS * 2 });
  const other = await generateCertificate({ now: Date.UTC(2032, 0, 1) });
  const result = parseCertificateValidity(
    `subject=CN = leaf\n${leaf.certPem}\r\n${other.certPem.replaceAll("\n", "\r\n")}`,
  );
  assert(result.ok);
  assertEquals(result.notBefore, leaf.notBefore);
  assertEquals(result.notAfter, leaf.notAfter);
  assertEquals(result.notAfter.getTime() - result.notBefore.getTime(), DAY_MS * 2);
  assertNotEquals(result.notBefore, other.notBefore, "not the second certificate's");
});

Deno.test("checkPrivateKeyPem() accepts PKCS#8 and SEC1 keys and refuses anything else", async () => {
  const cert = await generateCertificate();
  assertEquals(checkPrivateKeyPem(cert.keyPem), undefined);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
    const sec1 = await openssl(["ec", "-in", `${dir}/key.pem`, "-out", `${dir}/sec1.pem`]);
    assertEquals(sec1.code, 0, sec1.out);
    const sec1Pem = await Deno.readTextFile(`${dir}/sec1.pem`);
    assert(sec1Pem.startsWith("-----BEGIN EC PRIVATE KEY-----"), sec1Pem);
    assertEquals(checkPrivateKeyPem(sec1Pem), undefined);
  });
  for (
    const bad of ["", cert.certPem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"]
  ) {
    assert(typeof checkPrivateKeyPem(bad) === "string", bad);
  }
});

Deno.test("privateKeyMatchesCertificate() tells its own key from another, and cannot tell for SEC1 or garbage", async () => {
  const [a, b] = await Promise.all([generateCertificate(), generateCertificate()]);
  assertEquals(await privateKeyMatchesCertificate(a.keyPem, a.certPem), true);
  assertEquals(await privateKeyMatchesCertificate(b.keyPem, a.certPem), false);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/key.pem`, a.keyPem);
    const sec1 = await openssl(["ec", "-in", `${dir}/key.pem`, "-out", `${dir}/sec1.pem`]);
    assertEquals(sec1.code, 0, sec1.out);
    const sec1Pem = await Deno.readTextFile(`${dir}/sec1.pem`);
    assertEquals(await privateKeyMatchesCertificate(sec1Pem, a.certPem), undefined);
  });
  assertEquals(await privateKeyMatchesCertificate("garbage", a.certPem), undefined);
  assertEquals(await privateKeyMatchesCertificate(a.keyPem, "garbage"), undefined);
  assertEquals(await privateKeyMatchesCertificate(a.certPem, a.certPem), undefined);
});
