# The agent-spend bridge. Built by deploy/docker-compose/compose.yml (`make lab` with Docker).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md requirements.lock ./
COPY bridge ./bridge
COPY seeder ./seeder
COPY schema ./schema
# The exact versions CI tested (requirements.lock); pyproject.toml only gives ranges.
RUN pip install -c requirements.lock . && useradd --system --no-create-home agent-spend

USER agent-spend
EXPOSE 4317 4318
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:4318/readyz', timeout=2).status != 200)"
ENTRYPOINT ["agent-spend"]
CMD ["serve", "--host", "0.0.0.0"]
