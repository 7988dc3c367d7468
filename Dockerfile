# The pipeline image for Kubeflow: tfxd, its pinned stack, and the pipelines/ folder.
# Module files are imported from /tfxd (runners.kubeflow.python_path), e.g. pipelines.penguin.model.
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TF_USE_LEGACY_KERAS=1 PYTHONPATH=/tfxd
WORKDIR /tfxd

COPY setup.py constraints.txt README.md ./
COPY tfxd ./tfxd
RUN pip install --no-cache-dir -c constraints.txt . \
    && python -c "import tfx, tfxd"

COPY pipelines ./pipelines
