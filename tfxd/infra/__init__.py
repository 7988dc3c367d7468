"""Shared infrastructure: what components, the model server, ML Metadata views and runners all
use, owned by none of them: model versions on disk, the accepted-schema store and drift judging,
input fingerprints, object storage. Imports nothing of tfxd but ``errors`` and ``file``, and no
TFX at import time (the model server runs without it)."""
