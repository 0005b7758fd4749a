import { withTempDir } from "../../tests/support/temp_dir.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { certificateHash, generateCertificate } from "./certificate.ts";
import { CertificateManager, type ServingCertificate } from "./certificate_manager.ts";

const DAY_MS = 86_400_000;

function fromPem(pem: string): Uint8Array {
  return Uint8Array.fromBase64(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
}

/** Resolves with the next value a callback receives; rejects after `timeoutMs` instead of hanging. */
function nextCall<T>(): { fn: (value: T) => void; next: (timeoutMs?: number) => Promise<T> } {
  const waiting: ((value: T) => void)[] = [];
  const queued: T[] = [];
  return {
    fn: (value) => {
      const resolve = waiting.shift();
      if (resolve) resolve(value);
      else queued.push(value);
    },
    next: (timeoutMs = 10_000) => {
      if (queued.length > 0) return Promise.resolve(queued.shift()!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(done), 1);
          reject(new Error(`No call within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (value: T) => {
          clearTimeout(timer);
          resolve(value);
        };
        waiting.push(done);
      });
    },
  };
}

Deno.test("CertificateManager renews before expiry, advertising old and new hashes until the old expires", async () => {
  let clockOffsetMs = 0;
  const changes = nextCall<ServingCertificate>();
  const errors: Error[] = [];
  const manager = new CertificateManager({
    validityMs: 3000,
    backdateMs: 0,
    renewBeforeMs: 1500,
    now: () => Date.now() + clockOffsetMs,
    onChange: changes.fn,
    onError: (error) => errors.push(error),
  });
  await manager.start();
  try {
    const first = manager.current();
    const firstHash = await certificateHash(fromPem(first.certPem));
    assertEquals(manager.hashes(), [firstHash]);

    const second = await changes.next();
    assert(second.certPem !== first.certPem);
    assertEquals(manager.current(), second);
    const secondHash = await certificateHash(fromPem(second.certPem));
    assertEquals(manager.hashes(), [secondHash, firstHash]);
    assertEquals(manager.hashesBase64().map((b) => atob(b).length), [32, 32]);

    // Only the previous certificate is kept: after the next renewal the first hash is gone.
    const third = await changes.next();
    const thirdHash = await certificateHash(fromPem(third.certPem));
    assertEquals(manager.hashes(), [thirdHash, secondHash]);

    // Once the previous certificate has expired its hash is no longer advertised.
    clockOffsetMs = second.notAfter.getTime() - Date.now() + 1;
    assertEquals(manager.hashes(), [thirdHash]);
    assertEquals(errors, []);
  } finally {
    await manager.stop();
  }
});

Deno.test("CertificateManager.stop() right after start() leaves no timer running", async () => {
  const manager = new CertificateManager({ validityMs: 60_000, backdateMs: 0 });
  await manager.start();
  await manager.stop();
  assertEquals(manager.current().certPem.startsWith("-----BEGIN CERTIFICATE-----"), true);
  await assertRejects(() => manager.start());
});

Deno.test("CertificateManager refuses options that cannot work", () => {
  const cases: [string, () => unknown][] = [
    [
      "Certificate validity must be at most 14 days",
      () => new CertificateManager({ validityMs: 15 * DAY_MS }),
    ],
    [
      "Certificate renewBeforeMs must be",
      () => new CertificateManager({ validityMs: 5000, backdateMs: 0, renewBeforeMs: 5000 }),
    ],
    ["Certificate renewBeforeMs must be", () => new CertificateManager({ renewBeforeMs: -1 })],
    [
      "Certificate and key paths must be given together",
      () => new CertificateManager({ certPath: "cert.pem" }),
    ],
    [
      "Certificate poll interval must be positive",
      () => new CertificateManager({ pollIntervalMs: 0 }),
    ],
  ];
  for (const [message, make] of cases) {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    assert(error instanceof Error && error.message.startsWith(message), `${message}: ${error}`);
  }
  assertEquals(
    new CertificateManager({ validityMs: 15 * DAY_MS, certPath: "c", keyPath: "k" }) instanceof
      CertificateManager,
    true,
  );
});

Deno.test("CertificateManager in file mode serves the files, reloads on change and keeps the old pair on a bad file", async () => {
  const [a, b, c] = await Promise.all([
    generateCertificate(),
    generateCertificate(),
    generateCertificate(),
  ]);
  await withTempDir(async (dir) => {
    const certPath = `${dir}/cert.pem`;
    const keyPath = `${dir}/key.pem`;
    const write = (cert: { certPem: string; keyPem: string }) =>
      Promise.all([
        Deno.writeTextFile(certPath, cert.certPem),
        Deno.writeTextFile(keyPath, cert.keyPem),
      ]);
    await write(a);
    const changes = nextCall<ServingCertificate>();
    const errors = nextCall<Error>();
    let errorCount = 0;
    const manager = new CertificateManager({
      certPath,
      keyPath,
      pollIntervalMs: 20,
      onChange: changes.fn,
      onError: (error) => {
        errorCount++;
        errors.fn(error);
      },
    });
    await manager.start();
    try {
      assertEquals(manager.current(), {
        certPem: a.certPem,
        keyPem: a.keyPem,
        notBefore: a.notBefore,
        notAfter: a.notAfter,
      });
      assertEquals(manager.hashes(), []);

      await write(b);
      assertEquals((await changes.next()).certPem, b.certPem);
      assertEquals(manager.current().keyPem, b.keyPem);

      await Deno.writeTextFile(
        certPath,
        "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n",
      );
      const error = await errors.next();
      assert(error.message.startsWith(`Cannot use certificate "${certPath}"`), error.message);
      await new Promise((resolve) => setTimeout(resolve, 100)); // several polls
      assertEquals(errorCount, 1, "a bad file is reported once, not at every poll");
      assertEquals(manager.current().certPem, b.certPem);

      await Deno.remove(keyPath);
      assert((await errors.next()).message.startsWith("Cannot read certificate files"));
      assertEquals(manager.current().certPem, b.certPem);

      await write(c);
      assertEquals((await changes.next()).certPem, c.certPem);
      assertEquals(manager.current().keyPem, c.keyPem);

      // A key that belongs to another certificate is refused; the served pair stays whole.
      await Deno.writeTextFile(keyPath, a.keyPem);
      const mismatch = await errors.next();
      assert(mismatch.message.includes("does not belong to certificate"), mismatch.message);
      assertEquals(manager.current().keyPem, c.keyPem);
      assertEquals(errorCount, 3);
    } finally {
      await manager.stop();
    }
  });
});

Deno.test("CertificateManager in file mode refuses to start on a missing or bad file", async () => {
  await withTempDir(async (dir) => {
    const missing = new CertificateManager({
      certPath: `${dir}/none.pem`,
      keyPath: `${dir}/none.key`,
    });
    const error = await assertRejects(() => missing.start());
    assert(error.message.startsWith("Cannot read certificate files"), error.message);

    const cert = await generateCertificate();
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
    await Deno.writeTextFile(`${dir}/key.pem`, cert.certPem); // a certificate where the key belongs
    const wrong = new CertificateManager({
      certPath: `${dir}/cert.pem`,
      keyPath: `${dir}/key.pem`,
    });
    const keyError = await assertRejects(() => wrong.start());
    assert(
      keyError.message.startsWith(`Cannot use private key "${dir}/key.pem"`),
      keyError.message,
    );
  });
});
