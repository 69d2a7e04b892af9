# The joule binary in a small image (compose.yaml runs two of them behind HAProxy).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p joule

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/joule /usr/local/bin/joule
EXPOSE 8080
ENTRYPOINT ["joule"]
