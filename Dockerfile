# Descent: one image for the CPU and the GPU service (see docker-compose.yml).
FROM python:3.11-slim

# PyPI's torch wheel for linux x86_64 is the CPU build used in development; pass
# --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu130 for a CUDA build.
ARG TORCH_INDEX=
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# --build-arg WITH_RAY=1 adds Ray (requirements-ray.txt): the image of every node of a
# Ray cluster and of its front ends (docker-compose.yml's cluster profile, docs/deploy.md).
ARG WITH_RAY=
COPY requirements.txt requirements-ray.txt ./
RUN if [ -n "$TORCH_INDEX" ]; then pip install --extra-index-url "$TORCH_INDEX" -r requirements.txt; \
    else pip install -r requirements.txt; fi \
    && if [ -n "$WITH_RAY" ]; then pip install -r requirements-ray.txt; fi

COPY backend/ backend/
COPY frontend/ frontend/

RUN useradd --create-home descent
USER descent
ENV PYTHONPATH=/app/backend HOST=0.0.0.0 PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz')"
CMD ["python", "-m", "descent"]
