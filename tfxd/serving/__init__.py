"""Online serving: a model server that answers with the version the serving pointer names.

The modules here run inside the serving environment (``.venv-serve``: TensorFlow and KServe's
ModelServer, no TFX), so they import nothing of tfxd but ``tfxd.errors`` and the model versions
(``tfxd.infra.versions``), which need only the standard library.
"""
