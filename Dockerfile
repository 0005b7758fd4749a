# videocall.ts server image. Build: `docker build -t videocall-ts .` (or buildah, podman).
# Run: `docker run -p 8080:8080 -p 4433:4433/udp -v videocall-data:/data videocall-ts`.
# Proven on machines without a registry by `deno task image:verify` (README, "Container image").
FROM denoland/deno:2.9.6

# The app belongs to the image's non-root user, who also runs it.
USER root
RUN mkdir -p /app /data && chown deno:deno /app /data
WORKDIR /app
USER deno

# Dependencies in their own layer: it is rebuilt only when deno.json or deno.lock change.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno . .
# Compile the server's modules into the cache, and build the browser bundle once at image build
# time into /app/_fresh (it fails here, not on a user's first page, if the client code does not
# bundle; the server serves these files and never bundles at run time).
RUN deno cache --frozen main.ts && deno task build

# The bundle built above is what the server serves; it refuses to start without it.
ENV PORT=8080 \
    WT_PORT=4433 \
    DATA_DIR=/data \
    PREBUILT_BUNDLE=required
# Meetings (embedded Postgres) when DATABASE_URL is not set.
VOLUME /data
EXPOSE 8080/tcp 4433/udp
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '8080') + '/healthz'); Deno.exit(r.ok ? 0 : 1)"]
# Exec form: Deno is PID 1 and gets SIGTERM itself, which drains the instance (README, Operations).
ENTRYPOINT ["deno", "run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "--allow-write=/data", "main.ts"]
