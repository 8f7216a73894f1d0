# paperradar in a container: one image for the web app, the workers and the scheduler
# (compose.yaml runs it three ways; README "Running it for a lab").
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The CPU build of torch first, pinned: unpinned, pip pulls a multi-GB CUDA build that
# paperradar never uses. A site with its own mirror passes --build-arg TORCH_INDEX_URL=….
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0

WORKDIR /opt/paperradar
COPY pyproject.toml README.md ./
COPY paperradar ./paperradar
RUN pip install . && paperradar --help > /dev/null

# Not root: the store, digests and site live in /data (a volume), the configuration is mounted there.
RUN useradd --create-home --uid 10001 paperradar && mkdir /data && chown paperradar /data
USER paperradar
WORKDIR /data
ENV PAPERRADAR_CONFIG=/data/paperradar.toml \
    PAPERRADAR_LOG_FORMAT=json

EXPOSE 8000
CMD ["paperradar", "serve", "--host", "0.0.0.0", "--port", "8000"]
