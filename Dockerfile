# The API image. The database runs in its own container (see docker-compose.yml).

# The web client, built from its npm lock against the committed schema (web/ reads ../schema.graphql).
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY schema.graphql /build/
COPY web ./
RUN npm run build

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The locked runtime first (its own layer, rebuilt only when the lock changes), every file checked
# against its hash; then the project alone, built with the locked setuptools.
COPY requirements/runtime.txt ./requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY api ./api
COPY db ./db
COPY geo ./geo
COPY seeds ./seeds
COPY bench ./bench
COPY services ./services
COPY --from=web /build/web/dist ./web/dist
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && useradd --system --uid 10001 voisinage
USER voisinage

ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
# Run from /app (`python -m` puts the working directory first): the app finds web/dist beside api/.
CMD ["python", "-m", "api", "serve"]
