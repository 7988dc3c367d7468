"""Pusher: TFX's Pusher with tfxd's model versions (manifest, serving pointer, no duplicates)."""
