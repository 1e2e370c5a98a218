# celeriac: workerd, the example tasks and the demo producer, built from
# Debian 12's packages. Runs as an unprivileged user.
FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev cmake make pkg-config librabbitmq-dev libjansson-dev uuid-dev \
      zlib1g-dev libbz2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCEL_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)"

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librabbitmq4 libjansson4 libuuid1 zlib1g libbz2-1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin celeriac
COPY --from=build /src/build/bin/ /opt/celeriac/bin/
COPY --from=build /src/build/lib/*.so /opt/celeriac/lib/
ENV PATH=/opt/celeriac/bin:$PATH
USER celeriac
ENTRYPOINT ["workerd"]
CMD ["-A", "/opt/celeriac/lib/libexample_tasks.so", "-c", "4", "-l", "info"]
